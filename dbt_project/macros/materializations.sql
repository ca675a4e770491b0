{#- The project's view and table materializations: each model replaced in one transaction,
    with as few statements as DuckDB needs.

    dbt's defaults create the relation under a temporary name, rename the old one away, rename
    the new one in, commit and drop the old one: six statements or more (dbt-duckdb's table
    adds queries for foreign keys and indexes), each a round of dbt's adapter and event
    machinery. That was about 0.1 s of a build's Python per model on a 2-core machine, for
    DuckDB statements of a millisecond. DuckDB's DDL is transactional: a relation dropped and
    replaced in one transaction is replaced atomically (readers see the old one until the
    commit; a failed create leaves it in place), so the backup and its later drop buy nothing
    here (dbt's note on `create_or_replace_view` says the same of Snowflake and BigQuery). A
    view is one `create or replace view`; a table is created under the temporary name, the old
    one dropped and the new one renamed. Pre- and post-hooks, contracts (dbt-duckdb's `create
    table` then `insert` for an enforced one), indexes and docs run as in the defaults; DuckDB
    has no grants. SQL models only: the project has no Python model. -#}

{% materialization view, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='view') -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {#- A table under the model's name (an earlier version made it one) goes in the same
      transaction; a view is replaced by `create or replace` (duckdb__create_view_as). -#}
  {{ sieve_drop_in_transaction(load_cached_relation(this), unless_type='view') }}
  {% call statement('main') -%}
    {{ get_create_view_as_sql(target_relation, sql) }}
  {%- endcall %}
  {{ sieve_end_materialization(target_relation) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% materialization table, adapter='duckdb', supported_languages=['sql'] %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {#- Created beside the old table, which a model may read (insights reads its own last
      version), then put in its place. -#}
  {{ sieve_drop_in_transaction(load_cached_relation(intermediate_relation)) }}
  {% call statement('main') -%}
    {{ create_table_as(False, intermediate_relation, sql) }}
  {%- endcall %}
  {{ sieve_drop_in_transaction(existing_relation) }}
  {{ adapter.rename_relation(intermediate_relation, target_relation) }}
  {% do create_indexes(target_relation) %}
  {{ sieve_end_materialization(target_relation) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- Drop `relation` (when there is one, and it is not of type `unless_type`) inside the
    model's transaction, which this statement begins. -#}
{% macro sieve_drop_in_transaction(relation, unless_type=none) %}
  {%- if relation is not none and relation.type != unless_type -%}
    {% call statement('drop_replaced') -%}
      drop {{ relation.type }} if exists {{ relation }}
    {%- endcall %}
    {% do adapter.cache_dropped(relation) %}
  {%- endif -%}
{% endmacro %}


{% macro sieve_end_materialization(target_relation) %}
  {% do persist_docs(target_relation, model) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
{% endmacro %}


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
