{#- Small SQL helpers shared by the models. DuckDB dialect. -#}

{#- Hours between two timestamps, as a DOUBLE (null when either is null). -#}
{% macro hours_between(start_at, end_at) -%}
    ((epoch({{ end_at }}) - epoch({{ start_at }})) / 3600.0)
{%- endmacro %}

{#- Monday 00:00 UTC of the ISO week holding the timestamp (timestamps are naive UTC). -#}
{% macro iso_week_start(ts) -%}
    cast(date_trunc('week', {{ ts }}) as date)
{%- endmacro %}

{#- Continuous percentile (linear interpolation), as quantile_cont in DuckDB. -#}
{% macro percentile(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro median(expression) -%}
    {{ percentile(expression, 0.5) }}
{%- endmacro %}

{#- A SQL string literal; quotes doubled, backslashes kept (DuckDB strings do not escape). -#}
{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{#- A DuckDB list literal of strings from a list var. -#}
{% macro sql_string_list(values) -%}
    [{% for value in values %}{{ sql_string(value) }}{% if not loop.last %}, {% endif %}{% endfor %}]::VARCHAR[]
{%- endmacro %}

{#- True when the text matches any of the regular expressions (RE2 syntax); false for an
    empty list or a null text. The patterns are folded into one constant regex. -#}
{% macro matches_any(text, patterns) -%}
    {%- if patterns | length == 0 -%}
    false
    {%- else -%}
    coalesce(regexp_matches({{ text }}, {{ sql_string('(?:' ~ (patterns | join(')|(?:')) ~ ')') }}), false)
    {%- endif -%}
{%- endmacro %}

{#- True when a list of labels holds any of the names, compared case-insensitively. -#}
{% macro has_any_label(labels, names) -%}
    {%- if names | length == 0 -%}
    false
    {%- else -%}
    coalesce(len(list_intersect(list_transform({{ labels }}, l -> lower(l)), {{ sql_string_list(names | map('lower') | list) }})) > 0, false)
    {%- endif -%}
{%- endmacro %}

{#- The reporting window's end: the as_of var, or now (UTC). -#}
{% macro as_of() -%}
    {%- if var('as_of') -%}
    cast({{ sql_string(var('as_of')) }} as timestamp)
    {%- else -%}
    cast(timezone('UTC', current_timestamp) as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- The services var as a relation (service_name, repository), one row per configured service;
    empty (but typed) when none are configured. -#}
{% macro services_relation() -%}
    {%- set services = var('services') -%}
    {%- if services | length == 0 -%}
    select null::VARCHAR as service_name, null::VARCHAR as repository where false
    {%- else -%}
    select * from (values
    {%- for service in services %}
        ({{ sql_string(service['name']) }}, {{ sql_string(service['repository']) }}){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as services (service_name, repository)
    {%- endif -%}
{%- endmacro %}

{#- ISO weeks (their Monday) from the week of the first timestamp of a relation's column to the
    week of as_of, as a one-column relation `week_start`. -#}
{% macro week_spine(relation, column) -%}
    select cast(unnest(generate_series(
        date_trunc('week', min({{ column }})),
        date_trunc('week', greatest(max({{ column }}), {{ as_of() }})),
        interval 1 week
    )) as date) as week_start
    from {{ relation }}
    where {{ column }} is not null
{%- endmacro %}

{#- A signal's severity: severe when its value is at least twice its threshold. -#}
{% macro severity(value, threshold) -%}
    case when ({{ value }}) >= 2 * ({{ threshold }}) then 'severe' else 'warning' end
{%- endmacro %}

{#- The org settings' wip_limits_per_team as a relation (team, wip_limit), one row per team. -#}
{% macro team_wip_limits_relation() -%}
    {%- set rows = [] -%}
    {%- for entry in var('wip_limits_per_team') if entry is mapping -%}
        {%- do rows.append((entry['team'], entry['limit'] | int)) -%}
    {%- endfor -%}
    {%- if rows | length == 0 -%}
    select null::VARCHAR as team, null::INTEGER as wip_limit where false
    {%- else -%}
    select * from (values
    {%- for team, wip_limit in rows %}
        ({{ sql_string(team) }}, {{ wip_limit }}){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as team_wip_limits (team, wip_limit)
    {%- endif -%}
{%- endmacro %}
