-- Pseudonymous persons: year-month of birth only, never a full date.
create table if not exists raw.persons (
    person_id varchar not null,
    birth_year_month varchar,
    sex varchar,
    looked_after boolean,
    source varchar not null default 'partnership',
    file_id varchar not null,
    line bigint
);
