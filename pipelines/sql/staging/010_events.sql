-- Every event with a time and (where known) a place: incidents, missing found-at places, intelligence, searches.
create or replace view staging.events as
with
incidents as (
    select incident_id as event_id, 'incident' as event_type, source, occurred_at,
           time_precision::varchar as time_precision, category, theme, location_type, latitude, longitude,
           easting, northing, located
    from raw.incidents
),
missing as (
    select episode_id, 'missing', source, started_at, started_precision::varchar,
           missing_type, 'missing', null, found_latitude, found_longitude, found_easting, found_northing,
           found_latitude is not null
    from raw.missing_episodes
),
intelligence as (
    select intel_id, 'intelligence', 'intelligence', reported_at, time_precision::varchar,
           category, theme, null, latitude, longitude, easting, northing, located
    from raw.intelligence
),
searches as (
    select search_id, 'stop_search', source, occurred_at, time_precision::varchar,
           coalesce(object_of_search, 'stop and search'), theme, null, latitude, longitude, easting, northing, located
    from raw.stop_searches
),
unioned as (
    select * from incidents
    union all select * from missing
    union all select * from intelligence
    union all select * from searches
),
boundaries_loaded as (
    select count(*) > 0 as loaded from raw.boundaries
)
select
    unioned.*,
    -- a subquery, not a join: a query that does not ask for out_of_area does not pay for it
    unioned.located and boundaries_loaded.loaded and not exists (
        select 1 from raw.event_areas ea where ea.event_type = unioned.event_type and ea.event_id = unioned.event_id
    ) as out_of_area
from unioned
cross join boundaries_loaded
