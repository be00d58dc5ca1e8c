-- Missing and absent episodes, with where the child was found and return home interviews.
create table if not exists raw.missing_episodes (
    episode_id varchar not null,
    person_id varchar not null,
    started_at timestamptz not null,
    started_precision varchar not null,
    ended_at timestamptz,
    missing_type varchar not null,
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
    source varchar not null default 'partnership',
    file_id varchar not null,
    line bigint
);
