-- The revisions that moved a work item's state or iteration, from each revision's state and
-- iteration path: the creation (from nothing) and every revision where either differs from
-- the revision before. Only what changed has its from/to set, as the Updates API shows it.
with revisions as (
    select
        connection_id,
        work_item_id,
        rev,
        changed_at,
        state,
        iteration_path,
        lag(state) over (partition by connection_id, work_item_id order by rev)
            as previous_state,
        lag(iteration_path) over (partition by connection_id, work_item_id order by rev)
            as previous_iteration_path
    from {{ source('metadata', 'azuredevops_work_item_revisions') }}
),

compared as (
    select
        *,
        coalesce(state = previous_state, state is null and previous_state is null)
            as state_kept,
        coalesce(iteration_path = previous_iteration_path,
                 iteration_path is null and previous_iteration_path is null) as iteration_kept
    from revisions
)

select
    connection_id,
    work_item_id,
    rev,
    changed_at,
    case when not state_kept then previous_state end as from_state,
    case when not state_kept then state end as to_state,
    case when not iteration_kept then previous_iteration_path end as from_iteration_path,
    case when not iteration_kept then iteration_path end as to_iteration_path
from compared
where not (state_kept and iteration_kept)
