-- Ofsted Annex A List 8 (children looked after): per-child counts of missing and absent episodes and
-- return interviews, for the outcome indicators. Year-month of birth only; no names, no full postcodes.
create table if not exists raw.annex_a_children (
    person_id varchar not null,
    birth_year_month varchar,
    sex varchar,
    looked_after_from date,
    looked_after_until date,
    placement_postcode_district varchar,
    placement_la varchar,
    missing_episodes_12m integer,
    absent_episodes_12m integer,
    rhi_offered boolean,
    rhi_accepted boolean,
    file_id varchar not null,
    line bigint
);
