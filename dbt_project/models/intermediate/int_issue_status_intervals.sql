-- How long each Jira issue sat in each status: one row per interval, from its creation (in
-- the status it was created in) through every status transition; the last interval is open
-- (ended_at null). Each status gets its category (new / indeterminate / done) from the
-- issues currently in it, or from its name when no issue is; "indeterminate" time is active
-- work unless the status is a waiting one (var waiting_statuses, e.g. Blocked).
with issues as (
    select connection_id, issue_id, status, status_category, created_at
    from {{ ref('stg_jira__issues') }}
    union all
    -- Azure DevOps work items: their states, with the category their name gives.
    select connection_id, work_item_id::VARCHAR as issue_id, state as status,
        state_category as status_category, created_at
    from {{ ref('stg_azuredevops__work_items') }}
),

all_changes as (
    select connection_id, issue_id, history_id, changed_at, from_status, to_status
    from {{ ref('stg_jira__issue_status_changes') }}
    union all
    -- Azure DevOps state transitions (the creation revision, from nothing, is not one).
    select connection_id, work_item_id::VARCHAR as issue_id,
        lpad(rev::VARCHAR, 10, '0') as history_id, changed_at, from_state as from_status,
        to_state as to_status
    from {{ ref('stg_azuredevops__work_item_updates') }}
    where from_state is not null and to_state is not null
),

changes as (
    select
        *,
        row_number() over (partition by connection_id, issue_id
                           order by changed_at, history_id) as change_number
    from all_changes
),

first_changes as (
    select * from changes where change_number = 1
),

intervals as (
    -- From creation to the first transition (or until now, if there was none).
    select
        issues.connection_id,
        issues.issue_id,
        coalesce(first_changes.from_status, issues.status) as status,
        issues.created_at as started_at,
        first_changes.changed_at as ended_at
    from issues
    left join first_changes using (connection_id, issue_id)
    union all
    select
        changes.connection_id,
        changes.issue_id,
        changes.to_status as status,
        changes.changed_at as started_at,
        lead(changes.changed_at) over (partition by changes.connection_id, changes.issue_id
                                       order by changes.change_number) as ended_at
    from changes
),

status_categories as (
    select connection_id, lower(status) as status_key, min(status_category) as status_category
    from issues
    where status_category is not null
    group by all
)

select
    intervals.connection_id,
    intervals.issue_id,
    intervals.status,
    coalesce(
        status_categories.status_category,
        case
            when lower(intervals.status) in ('done', 'closed', 'resolved', 'released', 'complete',
                                             'completed', 'cancelled', 'won''t do') then 'done'
            when lower(intervals.status) in ('to do', 'todo', 'open', 'backlog', 'new',
                                             'selected for development') then 'new'
            else 'indeterminate'
        end
    ) as status_category,
    {{ matches_any('intervals.status', var('waiting_statuses')) }} as is_waiting_status,
    intervals.started_at,
    intervals.ended_at
from intervals
left join status_categories
    on status_categories.connection_id = intervals.connection_id
    and status_categories.status_key = lower(intervals.status)
