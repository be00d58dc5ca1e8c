-- Outcome-report facts, one row per incident: its UK local date and quarter, theme, place and time quality.
-- No coordinates and no person IDs: the report aggregates these rows and never reads a place.
create or replace view marts.indicators_incidents as
with
incidents as (
    select event_id, source, occurred_at, time_precision, theme, located, out_of_area
    from staging.events
    where event_type = 'incident'
),
dated as (
    select
        *,
        timezone('Europe/London', occurred_at)::date as local_date
    from incidents
)
select
    event_id,
    source,
    local_date,
    date_trunc('quarter', local_date)::date as quarter_start,
    year(local_date) || 'Q' || quarter(local_date) as quarter,
    theme,
    time_precision,
    located,
    coalesce(out_of_area, false) as out_of_area
from dated
