-- Gi* hot and cold spots of each configured theme, for the whole run and for each calendar period, on the
-- whole run's units and study region with its parameters (each theme and period its own permutations and
-- Benjamini-Hochberg FDR). Only the significant units (bin <> 0) are stored: the steering map's theme filter
-- draws these rows, and a unit that is neither hot nor cold for a theme is not drawn.
create table if not exists marts.hotspot_themes (
    theme varchar not null,          -- one configured theme
    period varchar not null,         -- all (the whole run), YYYY-Qn, or the period text asked for
    period_start date not null,      -- first local day (of the run's events for all)
    period_end date not null,        -- last local day (inclusive)
    unit_id varchar not null,
    unit_type varchar not null,
    count bigint not null,           -- events of the theme in the unit and period
    z double,
    p double,
    q double,                        -- Benjamini-Hochberg over this theme and period's units
    bin integer not null,            -- Gi_Bin on q: +/-3, +/-2, +/-1 (never 0 here)
    hot boolean not null,
    cold boolean not null,
    latitude double not null,
    longitude double not null,
    geometry_wkt varchar not null,
    run_id varchar not null,         -- this theme and period's row in meta.hotspot_runs
    events_used bigint not null      -- events of the theme and period placed in the region
);
