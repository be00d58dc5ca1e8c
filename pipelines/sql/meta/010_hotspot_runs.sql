-- One row per hot spot analysis (hot spots, per-period hot spots, emerging hot spots, back-tests, locations):
-- the parameters it ran with, the scale and study region it chose, and what it used. Marts carry run_id only.
create table if not exists meta.hotspot_runs (
    run_id varchar not null,
    run_at timestamptz not null,
    analysis varchar not null,          -- hotspots | period | emerging | backtest | locations
    unit_requested varchar not null,    -- auto, h3, h3:R, a boundary level or points
    unit varchar not null,              -- the unit used (h3:R ...)
    scale_reason varchar,               -- why this resolution, when chosen from the data
    study_region varchar,               -- how the region was made, with its area
    study_area_km2 double,
    n_units integer,
    weights varchar,
    k_ring integer,
    distance_m double,
    inference varchar not null,         -- total | conditional | normal ("total (exact)": exact p-values)
    permutations bigint,                -- permutations run (0: none)
    seed bigint,
    alternative varchar,
    alpha double,
    baseline varchar not null,          -- none | all-incidents | population
    event_types varchar,                -- comma-separated; null: all
    themes varchar,
    sources varchar,
    since varchar,
    until varchar,
    hours varchar,
    include_out_of_area boolean,
    study_area varchar,                 -- configured local authorities, if any
    events_used bigint,
    events_excluded varchar,            -- JSON object: reason -> events left out
    n_hot integer,
    n_cold integer
);
