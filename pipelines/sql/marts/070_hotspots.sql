-- Gi* hot and cold spots of the latest `ctxrisk hotspots` run (or the scheduled run's hot spot step): one row per
-- unit of the study region, zero-count units included. The run's parameters are one row of meta.hotspot_runs.
create table if not exists marts.hotspots (
    unit_id varchar not null,        -- H3 cell or area code
    unit_type varchar not null,      -- h3:R or the boundary level
    name varchar,                    -- area name (null for H3 cells)
    count bigint not null,           -- events placed in the unit (cases, with a baseline)
    z double,                        -- Gi* z (esda's Zs), or the baseline test's standardised excess
    p double,                        -- p-value of the run's inference (pseudo p of the permutations, or exact)
    p_norm double,                   -- normal-approximation p of z
    q double,                        -- Benjamini-Hochberg adjusted p over the units with a neighbour
    bin integer not null,            -- Gi_Bin on q: +/-3 (q < 0.01), +/-2 (< 0.05), +/-1 (< 0.10), 0
    hot boolean not null,            -- q < alpha and z > 0
    cold boolean not null,           -- q < alpha and z < 0
    n_neighbours integer not null,   -- neighbours excluding the unit itself
    baseline_count double,           -- all incidents or residents per unit when the run has a baseline
    latitude double not null,        -- unit centre, WGS84
    longitude double not null,
    area_m2 double not null,
    geometry_wkt varchar not null,   -- unit outline, WGS84
    theme varchar not null,          -- themes analysed, or all
    run_id varchar not null,         -- meta.hotspot_runs.run_id
    run_at timestamptz not null,
    events_used bigint not null
);
