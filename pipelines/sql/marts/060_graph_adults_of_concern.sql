-- Adults (18+) linked to children in the association graph, each tested against chance (`ctxrisk graph
-- adults-of-concern`, or the scheduled run's graph step): one row per adult with a link to a child, flagged
-- adults first. analytics/protect reads person_id and flagged. Rewritten whole by each run.
create table if not exists marts.graph_adults_of_concern (
    person_id varchar not null,          -- pseudonymous person ID
    age_band varchar not null,           -- young_adult (18-24, who may be exploited themselves) or adult (25+)
    children_linked bigint not null,     -- distinct children with a direct link
    child_links bigint not null,         -- evidence items linking the person to a child
    links bigint not null,               -- all the person's evidence items
    expected_by_chance double not null,  -- links with children expected if links fell on children by chance
    p double not null,                   -- one-sided p of at least child_links links with children
    q double not null,                   -- Benjamini-Hochberg adjusted p over the adults tested
    flagged boolean not null,            -- adult 25+ with q < [graph] alpha
    finding varchar not null,            -- one line, e.g. "adult linked to 3 children (more than chance)"
    score double not null,               -- sum of the link weights to those children (recency-decayed, graded)
    looked_after_children bigint not null,  -- of those children, looked after
    high_risk_children bigint not null,  -- of those children, screened high risk (latest screening)
    relations varchar not null,          -- relation:evidence items with children, ;-separated
    last_seen timestamptz,               -- latest dated evidence with a child (null when undated)
    evidence_summary varchar not null    -- one line for a panel paper
);
