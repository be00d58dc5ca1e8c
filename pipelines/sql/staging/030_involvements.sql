-- Who was involved in which event, with the event's time and place and the person's age band then.
-- Missing episodes and intelligence items name their persons too; those count as involvements.
create or replace view staging.involvements as
with
declared as (
    select person_id, event_id, event_type, role from raw.involvements
),
missing_subjects as (
    select person_id, episode_id as event_id, 'missing' as event_type, 'subject' as role
    from raw.missing_episodes
),
found_with as (
    select unnest(found_with) as person_id, episode_id, 'missing', 'found_with'
    from raw.missing_episodes
    where found_with is not null
),
intelligence_subjects as (
    select unnest(persons) as person_id, intel_id, 'intelligence', 'subject'
    from raw.intelligence
    where persons is not null
),
all_involvements as (
    select * from declared
    union select * from missing_subjects
    union select * from found_with
    union select * from intelligence_subjects
),
aged as (
    select
        all_involvements.*,
        events.occurred_at,
        events.time_precision,
        events.theme,
        events.latitude,
        events.longitude,
        events.easting,
        events.northing,
        events.located,
        persons.looked_after,
        case
            when persons.birth_date is null or events.occurred_at is null then null
            else date_sub('year', persons.birth_date, events.occurred_at::date)
        end as age_years
    from all_involvements
    left join staging.events as events
        on events.event_id = all_involvements.event_id and events.event_type = all_involvements.event_type
    left join staging.persons as persons
        on persons.person_id = all_involvements.person_id
)
select
    *,
    case
        when age_years is null then 'unknown'
        when age_years < 18 then 'child'
        when age_years < 25 then 'young_adult'
        else 'adult'
    end as age_band
from aged
