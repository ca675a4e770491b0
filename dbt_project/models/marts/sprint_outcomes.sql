-- Per started sprint: what was committed at its start, what was added during it, and what was
-- completed inside it. Jira keeps an issue's sprints but not when it joined one, so an issue
-- counts as committed when it existed before the sprint started and as added otherwise.
-- Completed = moved to done between the sprint's start and its completion (or planned end).
with sprints as (
    select * from {{ ref('stg_jira__sprints') }}
    where start_at is not null
    union all by name
    -- Azure DevOps iterations (no board: each is its project's default team's).
    select connection_id, sprint_id, sprint_name, state, start_at, end_at
    from {{ ref('stg_azuredevops__iterations') }}
    where start_at is not null
),

sprint_issues as (
    select
        issues.connection_id,
        unnest(issues.sprint_ids) as sprint_id,
        issues.issue_uid,
        issues.created_at,
        issues.done_at,
        issues.story_points
    from {{ ref('int_issues') }} as issues
    where not issues.is_subtask
),

classified as (
    select
        sprints.connection_id,
        sprints.sprint_id,
        sprint_issues.story_points,
        sprint_issues.created_at <= sprints.start_at as is_committed,
        sprint_issues.done_at >= sprints.start_at
            and sprint_issues.done_at <= coalesce(sprints.completed_at, sprints.end_at)
            as is_completed
    from sprints
    inner join sprint_issues using (connection_id, sprint_id)
),

outcomes as (
    select
        connection_id,
        sprint_id,
        count(*) filter (where is_committed) as committed_issues,
        coalesce(sum(story_points) filter (where is_committed), 0) as committed_points,
        count(*) filter (where not is_committed) as added_issues,
        coalesce(sum(story_points) filter (where not is_committed), 0) as added_points,
        count(*) filter (where is_completed) as completed_issues,
        coalesce(sum(story_points) filter (where is_completed), 0) as completed_points,
        count(*) filter (where is_committed and is_completed) as completed_committed_issues,
        coalesce(sum(story_points) filter (where is_committed and is_completed), 0)
            as completed_committed_points,
        count(*) filter (where not coalesce(is_completed, false)) as not_completed_issues
    from classified
    group by all
)

select
    sprints.connection_id || ':' || sprints.sprint_id as sprint_key,
    sprints.sprint_id,
    sprints.sprint_name,
    sprints.board_id,
    sprints.state,
    sprints.start_at,
    sprints.end_at,
    sprints.completed_at,
    coalesce(outcomes.committed_issues, 0) as committed_issues,
    coalesce(outcomes.committed_points, 0) as committed_points,
    coalesce(outcomes.added_issues, 0) as added_issues,
    coalesce(outcomes.added_points, 0) as added_points,
    coalesce(outcomes.completed_issues, 0) as completed_issues,
    coalesce(outcomes.completed_points, 0) as completed_points,
    coalesce(outcomes.completed_committed_issues, 0) as completed_committed_issues,
    coalesce(outcomes.completed_committed_points, 0) as completed_committed_points,
    coalesce(outcomes.not_completed_issues, 0) as not_completed_issues,
    outcomes.completed_committed_points / nullif(outcomes.committed_points, 0)
        as predictability_points,
    outcomes.completed_committed_issues / nullif(outcomes.committed_issues, 0)
        as predictability_issues
from sprints
left join outcomes using (connection_id, sprint_id)
