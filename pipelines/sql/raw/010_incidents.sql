-- Incidents from partners and police.uk street-level crime.
-- Compression is set per column where the values' shape is known (FSST for unique IDs, dictionary for
-- codes and names): DuckDB would otherwise try every method on every segment of every column, which was
-- a sixth of a million-row insert's CPU; the file is the same size.
create table if not exists raw.incidents (
    incident_id varchar not null using compression fsst,
    source varchar not null using compression dictionary,
    occurred_at timestamptz not null,
    time_precision time_precision not null,
    category varchar not null using compression dictionary,
    theme varchar not null using compression dictionary,
    location_type varchar using compression dictionary,
    latitude double,
    longitude double,
    easting double,
    northing double,
    located boolean not null,
    lsoa_code varchar using compression dictionary,
    lsoa_name varchar using compression dictionary,
    lsoa_vintage lsoa_vintage,
    falls_within varchar using compression dictionary,
    reported_by varchar using compression dictionary,
    location_description varchar using compression dictionary,
    outcome_category varchar using compression dictionary,
    context varchar using compression dictionary,
    file_id varchar not null using compression dictionary,
    line bigint
);
