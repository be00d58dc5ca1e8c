-- Graded intelligence items, located where a place was reported.
create table if not exists raw.intelligence (
    intel_id varchar not null,
    reported_at timestamptz not null,
    time_precision time_precision not null,
    category varchar not null,
    theme varchar not null,
    latitude double,
    longitude double,
    easting double,
    northing double,
    located boolean not null,
    source_evaluation varchar,
    intelligence_evaluation varchar,
    handling varchar,
    persons varchar[],
    file_id varchar not null,
    line bigint
);
