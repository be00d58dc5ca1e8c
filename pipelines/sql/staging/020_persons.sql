-- Persons with a conservative birth date (last day of the birth month, so an age is never overstated)
-- and their latest screening.
-- Everyone in the partnership's persons file, and every child a statutory return names (SSDA903 Missing
-- rows and XML header, Ofsted Annex A List 8). The partnership's file comes first; what it leaves blank is
-- filled from the returns (the SSDA903 header, then its Missing rows, then Annex A; within one, the latest
-- year-month of birth, so an age is never overstated), and a child named by a return is looked after unless
-- the partnership's file says otherwise. Each source keeps its own raw rows, so the result does not depend
-- on the order in which files were loaded.
create or replace view staging.persons as
with
latest_screening as (
    select person_id, risk_level, screened_at
    from raw.screenings
    qualify row_number() over (partition by person_id order by screened_at desc, tool desc) = 1
),
stated as (
    select person_id, birth_year_month, sex, 1 as precedence from raw.ssda903_children
    union all
    select person_id, birth_year_month, sex, 2 as precedence from raw.missing_episodes where source = 'ssda903'
    union all
    select person_id, birth_year_month, sex, 3 as precedence from raw.annex_a_children
),
from_returns as (
    select
        person_id,
        first(birth_year_month order by precedence, birth_year_month desc)
            filter (where birth_year_month is not null) as birth_year_month,
        first(sex order by precedence, sex) filter (where sex is not null) as sex
    from stated
    group by person_id
),
merged as (  -- person_id is the key of raw.persons
    select
        persons.person_id,
        coalesce(persons.birth_year_month, from_returns.birth_year_month) as birth_year_month,
        coalesce(persons.sex, from_returns.sex) as sex,
        coalesce(persons.looked_after, case when from_returns.person_id is not null then true end) as looked_after
    from raw.persons as persons
    left join from_returns using (person_id)
    union all
    select from_returns.person_id, from_returns.birth_year_month, from_returns.sex, true as looked_after
    from from_returns
    anti join raw.persons using (person_id)
)
select
    merged.person_id,
    merged.birth_year_month,
    last_day(strptime(merged.birth_year_month || '-01', '%Y-%m-%d')::date) as birth_date,
    merged.sex,
    merged.looked_after,
    latest_screening.risk_level as latest_risk_level,
    latest_screening.screened_at as latest_screened_at
from merged
left join latest_screening using (person_id)
