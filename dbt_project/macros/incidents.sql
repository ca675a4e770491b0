{#- The org settings' incident_services as a relation (tool_service_name, scope): a service of an
    incident tool and a deployed service or repository it stands for (one row per pair). -#}
{% macro incident_services_relation() -%}
    {%- set rows = [] -%}
    {%- for mapping in var('incident_services') -%}
        {%- for scope in mapping['scopes'] -%}
            {%- do rows.append((mapping['service'], scope)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if rows | length == 0 -%}
    select null::VARCHAR as tool_service_name, null::VARCHAR as scope where false
    {%- else -%}
    select * from (values
    {%- for service, scope in rows %}
        ({{ sql_string(service) }}, {{ sql_string(scope) }}){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as incident_services (tool_service_name, scope)
    {%- endif -%}
{%- endmacro %}
