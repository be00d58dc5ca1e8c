-- Missing and absent episodes, with where the child was found and return home interviews.
-- Compression is set per column where the values' shape is known (FSST for unique IDs, dictionary for
-- codes and names): DuckDB would otherwise try every method on every segment of every column, which was
-- a sixth of a million-row insert's CPU; the file is the same size.
create table if not exists raw.missing_episodes (
    episode_id varchar not null using compression fsst,
    person_id varchar not null,
    started_at timestamptz not null,
    started_precision time_precision not null,
    ended_at timestamptz,
    missing_type varchar not null using compression dictionary,
    from_latitude double,
    from_longitude double,
    from_easting double,
    from_northing double,
    found_latitude double,
    found_longitude double,
    found_easting double,
    found_northing double,
    found_with varchar[],
    rhi_offered_at timestamptz,
    rhi_completed_at timestamptz,
    source varchar not null default 'partnership' using compression dictionary,
    file_id varchar not null using compression dictionary,
    line bigint,
    -- The child's year-month of birth and sex as an SSDA903 Missing row gives them (DOB on every row, reduced
    -- to the month at ingest); blank for the partnership's own episodes. staging.persons reads them.
    birth_year_month varchar using compression dictionary,
    sex varchar using compression dictionary
);

-- Warehouses made before the two columns above get them (a no-op once they are there).
alter table raw.missing_episodes add column if not exists birth_year_month varchar;
alter table raw.missing_episodes add column if not exists sex varchar;
