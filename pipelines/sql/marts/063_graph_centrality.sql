-- Centrality of every person of the association graph (`ctxrisk graph centrality`, or the scheduled run's
-- graph step): one row per person, by betweenness then degree (highest first).
create table if not exists marts.graph_centrality (
    person_id varchar not null,      -- pseudonymous person ID
    age_band varchar not null,       -- child, young_adult, adult or unknown
    degree bigint not null,          -- distinct people linked (a self-loop counts 2)
    strength double not null,        -- sum of the person's link weights
    betweenness double not null,     -- normalised shortest-path betweenness (hops), exact or sampled
    betweenness_se double not null,  -- its standard error over the sampled pivots (0 when exact)
    eigenvector double not null,     -- weighted eigenvector centrality, unit length over the graph
    triangles bigint not null        -- closed triangles through the person
);
