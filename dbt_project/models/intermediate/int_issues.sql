-- Jira issues with their flow timeline: started (first move into an in-progress status),
-- done (the move into the done status it is still in; the resolution date when its history
-- has no transition), and the active and waiting time between start and done.
with issues as (
    select *, 'jira' as account_system from {{ ref('stg_jira__issues') }}
    union all by name
    -- Azure DevOps work items, in the shape of Jira issues; their sprint is the iteration
    -- their path names.
    select
        work_items.connection_id,
        work_items.work_item_id::VARCHAR as issue_id,
        '#' || work_items.work_item_id as issue_key,
        work_items.project_name as project_key,
        work_items.work_item_type as issue_type,
        false as is_subtask,
        work_items.state as status,
        work_items.state_category as status_category,
        work_items.story_points,
        case when iterations.sprint_id is not null then [iterations.sprint_id]
            else []::BIGINT[] end as sprint_ids,
        []::VARCHAR[] as fix_version_ids,
        work_items.assigned_to_id as assignee_account_id,
        work_items.created_at,
        work_items.closed_at as resolved_at,
        'azuredevops' as account_system
    from {{ ref('stg_azuredevops__work_items') }} as work_items
    left join {{ ref('stg_azuredevops__iterations') }} as iterations
        on iterations.connection_id = work_items.connection_id
        and iterations.iteration_path = work_items.iteration_path
),

intervals as (
    select * from {{ ref('int_issue_status_intervals') }}
),

timeline as (
    select
        connection_id,
        issue_id,
        min(started_at) filter (where status_category = 'indeterminate') as started_at,
        -- The last interval, when it is a done one, marks completion.
        max(started_at) filter (where ended_at is null) as last_started_at,
        bool_or(status_category = 'done' and ended_at is null) as is_done_now,
        count(*) as interval_count
    from intervals
    group by all
),

done as (
    select
        issues.connection_id,
        issues.issue_id,
        timeline.started_at,
        case
            when timeline.interval_count > 1 and timeline.is_done_now
                then timeline.last_started_at
            when timeline.interval_count = 1 and issues.status_category = 'done'
                then issues.resolved_at
        end as done_at
    from issues
    left join timeline using (connection_id, issue_id)
),

time_in_flow as (
    select
        intervals.connection_id,
        intervals.issue_id,
        -- Rounded: a sum of doubles depends on the order DuckDB's threads add them in, and
        -- two builds of the same data must give the same bytes.
        round(sum({{ hours_between('greatest(intervals.started_at, done.started_at)',
                                    'least(intervals.ended_at, done.done_at)') }})
            filter (where intervals.status_category = 'indeterminate'
                    and not intervals.is_waiting_status), 6) as active_hours
    from intervals
    inner join done using (connection_id, issue_id)
    where done.done_at is not null
        and done.started_at is not null
        and intervals.started_at < done.done_at
        and coalesce(intervals.ended_at, done.done_at) > done.started_at
    group by all
)

select
    issues.connection_id || ':' || issues.issue_id as issue_uid,
    issues.connection_id,
    issues.issue_id,
    issues.issue_key,
    issues.project_key,
    issues.issue_type,
    issues.is_subtask,
    lower(issues.issue_type) = 'bug' as is_bug,
    issues.epic_key,
    issues.story_points,
    issues.sprint_ids,
    accounts.person_id as assignee_person_id,
    accounts.team,
    issues.created_at,
    issues.due_date,
    issues.fix_version_ids,
    done.started_at,
    done.done_at,
    {{ hours_between('issues.created_at', 'done.done_at') }} as lead_time_hours,
    {{ hours_between('done.started_at', 'done.done_at') }} as cycle_time_hours,
    coalesce(time_in_flow.active_hours, case when done.started_at < done.done_at then 0.0 end)
        as active_hours
from issues
left join done using (connection_id, issue_id)
left join time_in_flow using (connection_id, issue_id)
left join {{ ref('int_person_accounts') }} as accounts
    on accounts.system = issues.account_system
    and accounts.account_key = issues.assignee_account_id
