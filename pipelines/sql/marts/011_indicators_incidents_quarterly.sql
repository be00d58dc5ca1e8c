-- Incidents per UK calendar quarter and theme, with how many were unlocated, out of area or dated coarsely.
create or replace view marts.indicators_incidents_quarterly as
with
facts as (
    select * from marts.indicators_incidents
)
select
    quarter_start,
    quarter,
    theme,
    count(*) as incidents,
    count(*) filter (where not located) as unlocated,
    count(*) filter (where out_of_area) as out_of_area,
    count(*) filter (where time_precision <> 'minute') as coarse_time
from facts
group by quarter_start, quarter, theme
