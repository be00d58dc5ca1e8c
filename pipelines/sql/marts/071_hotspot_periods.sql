-- Gi* hot spots per calendar period (by default every calendar quarter of the run's events), with the study
-- region, unit and parameters of the whole-period run: the steering map's period selector reads these rows.
create table if not exists marts.hotspot_periods (
    period varchar not null,         -- YYYY-Qn, or the period text asked for
    period_start date not null,      -- first local day
    period_end date not null,        -- last local day (inclusive)
    unit_id varchar not null,
    unit_type varchar not null,
    count bigint not null,
    z double,
    p double,
    q double,
    bin integer not null,
    hot boolean not null,
    cold boolean not null,
    latitude double not null,
    longitude double not null,
    geometry_wkt varchar not null,
    run_id varchar not null,         -- this period's row in meta.hotspot_runs
    events_used bigint not null      -- events of the period placed in the region
);
