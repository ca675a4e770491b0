{#- The staging models' view materialization: one `create or replace view`, in the build's
    transaction.

    dbt's default creates the view under a temporary name, renames the old view out of the way,
    renames the new one in, commits and drops the old one: six statements, each a round of
    dbt's adapter and event machinery, about 0.1 s of a build's Python per view on a 2-core
    machine, for a DuckDB statement of a millisecond. DuckDB replaces a view atomically inside
    a transaction, so the swap buys nothing here (dbt's own note on `create_or_replace_view`
    says the same of Snowflake and BigQuery). Pre- and post-hooks, a contract's column check
    and the docs run as in the default; DuckDB has no grants. -#}
{% materialization view, adapter='duckdb' %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='view') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {#- A table of the same name (a model that was a table before) cannot be replaced by a
      view: it is dropped in the same transaction. -#}
  {%- if existing_relation is not none and not existing_relation.is_view -%}
    {{ adapter.drop_relation(existing_relation) }}
  {%- endif -%}

  {% call statement('main') -%}
    {{ get_create_view_as_sql(target_relation, sql) }}
  {%- endcall %}

  {% do persist_docs(target_relation, model) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- dbt-duckdb's `create view`, as `create or replace view` (see above). -#}
{% macro duckdb__create_view_as(relation, sql) -%}
  {% set contract_config = config.get('contract') %}
  {% if contract_config.enforced %}
    {{ get_assert_columns_equivalent(sql) }}
  {%- endif %}
  {%- set sql_header = config.get('sql_header', none) -%}

  {{ sql_header if sql_header is not none }}
  create or replace view {{ relation }} as (
    {{ sql }}
  );
{% endmacro %}
