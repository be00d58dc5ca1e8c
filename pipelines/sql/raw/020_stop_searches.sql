-- police.uk stop and search records; searches of children for drugs or weapons are an exploitation indicator.
-- Compression is set per column where the values' shape is known (FSST for unique IDs, dictionary for
-- codes and names): DuckDB would otherwise try every method on every segment of every column, which was
-- a sixth of a million-row insert's CPU; the file is the same size.
create table if not exists raw.stop_searches (
    search_id varchar not null using compression fsst,
    source varchar not null using compression dictionary,
    occurred_at timestamptz not null,
    time_precision time_precision not null,
    search_type varchar using compression dictionary,
    part_of_policing_operation boolean,
    policing_operation varchar using compression dictionary,
    latitude double,
    longitude double,
    easting double,
    northing double,
    located boolean not null,
    gender varchar using compression dictionary,
    age_range varchar using compression dictionary,
    is_child boolean,
    self_defined_ethnicity varchar using compression dictionary,
    officer_defined_ethnicity varchar using compression dictionary,
    legislation varchar using compression dictionary,
    object_of_search varchar using compression dictionary,
    outcome varchar using compression dictionary,
    outcome_linked_to_object boolean,
    removal_of_clothing boolean,
    exploitation_indicator boolean not null default false,
    theme varchar not null using compression dictionary,
    force varchar using compression dictionary,
    file_id varchar not null using compression dictionary,
    line bigint
);
