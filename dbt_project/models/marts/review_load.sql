-- Reviews given and received per person and ISO week (with the person's team). Counted
-- reviews only: submitted by a human who is not the PR's author. Rows exist for the weeks a
-- person authored, gave or received something.
with reviews as (
    select
        reviews.reviewer_person_id,
        reviews.pull_request_key,
        prs.author_person_id,
        {{ iso_week_start('reviews.submitted_at') }} as week_start
    from {{ ref('int_pull_request_reviews') }} as reviews
    inner join {{ ref('pull_requests') }} as prs using (pull_request_key)
    where not reviews.is_bot
        and not reviews.is_by_author
        and not prs.is_bot
        and reviews.submitted_at is not null
),

given as (
    select
        reviewer_person_id as person_id,
        week_start,
        count(*) as reviews_given,
        count(distinct pull_request_key) as prs_reviewed
    from reviews
    where reviewer_person_id is not null
    group by all
),

received as (
    select author_person_id as person_id, week_start, count(*) as reviews_received
    from reviews
    where author_person_id is not null
    group by all
),

authored as (
    select author_person_id as person_id, {{ iso_week_start('created_at') }} as week_start,
        count(*) as prs_authored
    from {{ ref('pull_requests') }}
    where not is_bot and author_person_id is not null
    group by all
),

person_weeks as (
    select person_id, week_start from given
    union
    select person_id, week_start from received
    union
    select person_id, week_start from authored
)

select
    person_weeks.week_start,
    person_weeks.person_id,
    people.team,
    coalesce(given.reviews_given, 0) as reviews_given,
    coalesce(given.prs_reviewed, 0) as prs_reviewed,
    coalesce(received.reviews_received, 0) as reviews_received,
    coalesce(authored.prs_authored, 0) as prs_authored
from person_weeks
left join given using (person_id, week_start)
left join received using (person_id, week_start)
left join authored using (person_id, week_start)
left join {{ ref('stg_sieve__people') }} as people using (person_id)
