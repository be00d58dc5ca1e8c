-- SSDA903 header facts: every child an XML return lists, with year-month of birth and sex (never the full
-- date). Children of a CSV Missing table are known from its rows in raw.missing_episodes.
create table if not exists raw.ssda903_children (
    person_id varchar not null using compression fsst,
    birth_year_month varchar using compression dictionary,
    sex varchar using compression dictionary,
    file_id varchar not null using compression dictionary,
    line bigint
);

-- Warehouses made before each source kept its own rows: SSDA903 returns and Annex A lists wrote their
-- children into raw.persons (the partnership's persons file), where a later persons file replaced them.
-- Those rows move to the return's own table (a no-op once they have). Annex A's children are already in
-- raw.annex_a_children, which staging.persons reads.
insert into raw.ssda903_children (person_id, birth_year_month, sex, file_id, line)
select person_id, birth_year_month, sex, file_id, line
from raw.persons as persons
where source = 'ssda903'
    and not exists (select 1 from raw.ssda903_children as known where known.person_id = persons.person_id);
delete from raw.persons where source = 'ssda903';
delete from raw.persons as persons
where source = 'annex_a'
    and exists (select 1 from raw.annex_a_children as listed where listed.person_id = persons.person_id);
