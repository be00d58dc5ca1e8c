-- police.uk outcomes: one row per outcome recorded in a month; joined to street crimes by Crime ID.
-- Compression is set per column where the values' shape is known (FSST for unique IDs, dictionary for
-- codes and names): DuckDB would otherwise try every method on every segment of every column, which was
-- a sixth of a million-row insert's CPU; the file is the same size.
create table if not exists raw.police_outcomes (
    outcome_id varchar not null using compression fsst,
    crime_id varchar not null using compression fsst,
    month varchar not null using compression dictionary,
    recorded_at timestamptz not null,
    reported_by varchar using compression dictionary,
    falls_within varchar using compression dictionary,
    latitude double,
    longitude double,
    easting double,
    northing double,
    located boolean not null,
    location_description varchar using compression dictionary,
    lsoa_code varchar using compression dictionary,
    lsoa_name varchar using compression dictionary,
    lsoa_vintage lsoa_vintage,
    outcome_type varchar not null using compression dictionary,
    incident_id varchar,
    match_status varchar using compression dictionary,
    file_id varchar not null using compression dictionary,
    line bigint
);
