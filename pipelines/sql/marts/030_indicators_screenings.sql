-- Outcome-report facts, one row per exploitation risk screening, with its UK local date.
create or replace view marts.indicators_screenings as
with
screenings as (
    select person_id, screened_at, tool, risk_level from raw.screenings
)
select
    person_id,
    screened_at,
    timezone('Europe/London', screened_at)::date as screened_date,
    tool,
    risk_level
from screenings
