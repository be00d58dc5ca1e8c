-- Persons with a conservative birth date (last day of the birth month, so an age is never overstated)
-- and their latest screening.
create or replace view staging.persons as
with
latest_screening as (
    select person_id, risk_level, screened_at
    from raw.screenings
    qualify row_number() over (partition by person_id order by screened_at desc, tool desc) = 1
)
select
    persons.person_id,
    persons.birth_year_month,
    last_day(strptime(persons.birth_year_month || '-01', '%Y-%m-%d')::date) as birth_date,
    persons.sex,
    persons.looked_after,
    latest_screening.risk_level as latest_risk_level,
    latest_screening.screened_at as latest_screened_at
from raw.persons as persons
left join latest_screening using (person_id)
