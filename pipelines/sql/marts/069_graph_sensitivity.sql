-- How much each person's rank moves when a share of the links is dropped at random (`ctxrisk graph
-- sensitivity`): one row per person of the ranking tested. Rewritten by each command.
create table if not exists marts.graph_sensitivity (
    person_id varchar not null,     -- pseudonymous person ID
    baseline_rank bigint not null,  -- rank on the whole graph (1 = first)
    mean_rank double,               -- mean rank over the repeats that kept the person (null when none did)
    rank_sd double,                 -- standard deviation of that rank (null with fewer than two)
    min_rank double,                -- best rank over the repeats
    max_rank double,                -- worst rank over the repeats
    mean_abs_change double,         -- mean absolute change from baseline_rank
    kept_share double not null,     -- share of repeats in which the person was still ranked
    top_share double not null       -- share of repeats with the person in the top list (--top)
);
