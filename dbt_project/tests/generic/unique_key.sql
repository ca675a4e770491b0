{#- No two rows share the same values in `columns` (nulls compare equal): the grain of a model
    whose key spans several columns. Fails with the number of duplicated keys, never the rows. -#}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}
from {{ model }}
group by all
having count(*) > 1
{% endtest %}
