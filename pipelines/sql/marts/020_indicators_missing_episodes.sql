-- Outcome-report facts, one row per missing or away episode: UK local start and return dates and whether a
-- return home interview was offered and completed within 72 hours of the child's return.
-- The person ID stays in the warehouse (to count children); the report publishes counts only.
create or replace view marts.indicators_missing_episodes as
with
episodes as (
    select
        episode_id, person_id, missing_type, source, started_at, started_precision::varchar as started_precision, ended_at,
        rhi_offered_at, rhi_completed_at, found_latitude is not null as found_located
    from raw.missing_episodes
),
timed as (
    select
        *,
        timezone('Europe/London', started_at)::date as start_date,
        timezone('Europe/London', ended_at)::date as return_date,
        ended_at is not null as returned,
        rhi_offered_at is not null and rhi_offered_at <= ended_at + interval 72 hour as rhi_offered_72h,
        rhi_completed_at is not null and rhi_completed_at <= ended_at + interval 72 hour as rhi_completed_72h
    from episodes
)
select
    episode_id,
    person_id,
    missing_type,
    source,
    start_date,
    started_precision,
    date_trunc('quarter', start_date)::date as quarter_start,
    return_date,
    returned,
    found_located,
    rhi_offered_at is not null as rhi_offered,
    rhi_completed_at is not null as rhi_completed,
    coalesce(returned and rhi_offered_72h, false) as rhi_offered_72h,
    coalesce(returned and rhi_completed_72h, false) as rhi_completed_72h
from timed
