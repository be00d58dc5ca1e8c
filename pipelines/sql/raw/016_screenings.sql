-- Exploitation risk screenings.
create table if not exists raw.screenings (
    person_id varchar not null,
    screened_at timestamptz not null,
    tool varchar not null,
    risk_level varchar not null,
    file_id varchar not null,
    line bigint
);
