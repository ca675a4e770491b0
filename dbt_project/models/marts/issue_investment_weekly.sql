-- Investment mix: issues (and story points) completed per ISO week, by team, issue type and
-- epic (the parent or legacy epic link). Sub-tasks are left out.
select
    {{ iso_week_start('done_at') }} as week_start,
    team,
    issue_type,
    epic_key,
    count(*) as issues_completed,
    coalesce(sum(story_points), 0) as points_completed
from {{ ref('int_issues') }}
where done_at is not null and not is_subtask
group by all
