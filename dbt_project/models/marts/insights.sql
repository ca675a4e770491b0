-- Signals that need attention, with their history: one row per episode of a signal (kind,
-- subject), from the build that first saw it to the build that no longer did.
--
-- The table reads its own previous version (when there is one) and rewrites itself whole:
--   still seen        → same first_seen_at, last_seen_at = as_of, evidence of this build
--   newly seen        → a new episode, first_seen_at = last_seen_at = as_of
--   open, not seen    → resolved_at = as_of, evidence as last seen
--   resolved          → kept as it was
-- A row about a person who is no longer in people (forgotten) is dropped from the history,
-- which an incremental merge or a snapshot would keep (docs/metrics.md, "insights").
-- (load_relation is dbt's; sqlfluff's templater does not know it.)
{% set previous = load_relation(this) if execute else none %}  -- noqa: TMP
{%- set evidence = ['kind', 'severity', 'subject_type', 'subject', 'repository', 'number',
    'team', 'person_id', 'metric', 'observed_value', 'threshold_value', 'baseline_value',
    'sample_count'] %}

with current_signals as (
    select * from {{ ref('int_insight_signals') }}
),

people as (
    select person_id from {{ ref('stg_sieve__people') }}
),

previous_rows as (
    {%- if previous %}
    select
        signal_key, {{ evidence | join(', ') }}, first_seen_at, last_seen_at, resolved_at
    from {{ this }}
    {%- else %}
    select
        signal_key, {{ evidence | join(', ') }},
        null::TIMESTAMP as first_seen_at,
        null::TIMESTAMP as last_seen_at,
        null::TIMESTAMP as resolved_at
    from current_signals
    where false
    {%- endif %}
),

history as (
    select * from previous_rows
    where person_id is null or person_id in (select people.person_id from people)
),

open_history as (
    select signal_key, first_seen_at from history
    where resolved_at is null
),

seen_now as (
    select
        current_signals.signal_key,
        {% for column in evidence %}current_signals.{{ column }},
        {% endfor -%}
        coalesce(open_history.first_seen_at, {{ as_of() }}) as first_seen_at,
        {{ as_of() }} as last_seen_at,
        null::TIMESTAMP as resolved_at
    from current_signals
    left join open_history using (signal_key)
),

not_seen_now as (
    select
        history.signal_key,
        {% for column in evidence %}history.{{ column }},
        {% endfor -%}
        history.first_seen_at,
        history.last_seen_at,
        coalesce(history.resolved_at, {{ as_of() }}) as resolved_at
    from history
    where history.resolved_at is not null
        or history.signal_key not in (select current_signals.signal_key from current_signals)
),

episodes as (
    select * from seen_now
    union all
    select * from not_seen_now
)

select
    signal_key,
    kind,
    severity,
    subject_type,
    subject,
    repository,
    cast(number as INTEGER) as number,
    team,
    person_id,
    metric,
    cast(observed_value as DOUBLE) as observed_value,
    cast(threshold_value as DOUBLE) as threshold_value,
    cast(baseline_value as DOUBLE) as baseline_value,
    cast(sample_count as BIGINT) as sample_count,
    case when observed_value < threshold_value then 'below' else 'above' end as direction,
    first_seen_at,
    last_seen_at,
    resolved_at,
    resolved_at is null as is_open
from episodes
