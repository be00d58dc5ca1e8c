-- police.uk outcomes: one row per outcome recorded in a month; joined to street crimes by Crime ID.
create table if not exists raw.police_outcomes (
    outcome_id varchar not null,
    crime_id varchar not null,
    month varchar not null,
    recorded_at timestamptz not null,
    reported_by varchar,
    falls_within varchar,
    latitude double,
    longitude double,
    easting double,
    northing double,
    located boolean not null,
    location_description varchar,
    lsoa_code varchar,
    lsoa_name varchar,
    lsoa_vintage varchar,
    outcome_type varchar not null,
    incident_id varchar,
    match_status varchar,
    file_id varchar not null,
    line bigint
);
