{#- The grain of a staging model: no key column is null and no two rows share the key, as the
    metadata store keeps it (key columns NOT NULL, every write an upsert on them). One query
    for both checks; fails with the number of offending keys, never the rows. -#}
{% test natural_key(model, columns) %}
select {{ columns | join(', ') }}
from {{ model }}
group by all
having count(*) > 1 or {{ columns | join(' is null or ') }} is null
{% endtest %}
