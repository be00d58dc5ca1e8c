-- Who was recorded in which event, and each event's time and place, read straight from the raw tables: the
-- links the missing and MACE outputs follow (ctxrisk.analytics.protect.links). staging.involvements holds
-- the same rows with the person's age band and the event's area, which these outputs do not need; they
-- join a few thousand rows of these views instead of building that view's million. A link recorded by two
-- sources (an involvements row naming a missing episode's subject) appears twice: readers keep distinct rows.
create or replace view staging.involved as
select person_id, event_id, event_type, role from raw.involvements
union all
select person_id, episode_id, 'missing', 'subject' from raw.missing_episodes
union all
select unnest(found_with), episode_id, 'missing', 'found_with' from raw.missing_episodes where found_with is not null
union all
select unnest(persons), intel_id, 'intelligence', 'subject' from raw.intelligence where persons is not null;

create or replace view staging.event_places as
select incident_id as event_id, 'incident' as event_type, occurred_at, latitude, longitude from raw.incidents
union all
select episode_id, 'missing', started_at, found_latitude, found_longitude from raw.missing_episodes
union all
select intel_id, 'intelligence', reported_at, latitude, longitude from raw.intelligence
union all
select search_id, 'stop_search', occurred_at, latitude, longitude from raw.stop_searches
