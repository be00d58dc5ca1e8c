-- Outcome-report data coverage: for each feed, how many records it holds and the UK local dates of its first
-- and last record (columns feed, records, first_date, last_date). Missing episodes count a return as a record
-- of its day, so a return after the last start still lies inside the feed. An incident dated only to its month
-- (police.uk: time_precision 'month') is a record of the whole month: its last date is the month's last day.
-- No person IDs, no places.
create or replace view marts.indicators_feed_coverage as
select
    'incidents' as feed,
    count(*)::bigint as records,
    min(local_date) as first_date,
    max(if(time_precision = 'month', last_day(local_date), local_date)) as last_date
from marts.indicators_incidents
union all
select
    'missing',
    count(*)::bigint,
    min(start_date),
    max(greatest(start_date, coalesce(return_date, start_date)))
from marts.indicators_missing_episodes
union all
select 'screenings', count(*)::bigint, min(screened_date), max(screened_date)
from marts.indicators_screenings
union all
select 'referrals', count(*)::bigint, min(referred_date), max(referred_date)
from marts.indicators_referrals
union all
select
    'intelligence',
    count(*)::bigint,
    min(timezone('Europe/London', reported_at)::date),
    max(timezone('Europe/London', reported_at)::date)
from raw.intelligence
union all
select
    'stop_search',
    count(*)::bigint,
    min(timezone('Europe/London', occurred_at)::date),
    max(timezone('Europe/London', occurred_at)::date)
from raw.stop_searches
