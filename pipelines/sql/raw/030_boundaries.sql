-- Areas loaded from boundary files (WGS84 polygons as WKT), with IMD decile where the file carries it.
create table if not exists raw.boundaries (
    level varchar not null,
    code varchar not null,
    name varchar,
    imd_decile integer,
    imd_rank integer,
    geometry_wkt varchar not null,
    file_id varchar not null,
    line bigint
);

-- Point-in-polygon assignment of every located event to each loaded level.
create table if not exists raw.event_areas (
    event_type varchar not null,
    event_id varchar not null,
    level varchar not null,
    area_code varchar not null
);
