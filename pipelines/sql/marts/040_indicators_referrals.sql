-- Outcome-report facts, one row per referral (NRM, MACE panel, Channel, early help, other), with its UK local date.
create or replace view marts.indicators_referrals as
with
referrals as (
    select person_id, referred_at, type, outcome from raw.referrals
)
select
    person_id,
    timezone('Europe/London', referred_at)::date as referred_date,
    type as referral_type,
    outcome
from referrals
