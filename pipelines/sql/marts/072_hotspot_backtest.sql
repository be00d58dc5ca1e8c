-- Forecast back-tests: each ranking of the training period's units scored against the test period's events at
-- equal area (hit rate, PAI, PEI). One row per method and fold of a `ctxrisk hotspots backtest` run.
create table if not exists marts.hotspot_backtest (
    run_id varchar not null,         -- meta.hotspot_runs.run_id
    fold integer not null,           -- 1.. for rolling-origin folds
    method varchar not null,         -- naive top-k, kde, gi* flagged, locations, ...
    unit_type varchar not null,
    train_start date not null,
    train_end date not null,
    test_start date not null,
    test_end date not null,
    n_units integer not null,        -- units of the study region
    n_selected integer not null,     -- units selected by the method (equal area across methods of a fold)
    selected_area_km2 double not null,
    total_area_km2 double not null,  -- the study region's area (PAI and PEI divide by it)
    area_share double not null,
    train_events bigint not null,
    test_events bigint not null,
    captured double not null,        -- test events in the selected units
    hit_rate double,
    pai double,
    pei double,
    run_at timestamptz not null
);
