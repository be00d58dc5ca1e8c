-- Children within a few links of people recorded as suspects (`ctxrisk graph at-risk-children`, or the
-- scheduled run's graph step, two links): one row per child near a suspect, most suspects first.
create table if not exists marts.graph_at_risk_children (
    person_id varchar not null,        -- pseudonymous person ID of the child
    suspects_linked bigint not null,   -- distinct suspects within the hops asked for
    direct_suspects bigint not null,   -- suspects one link away
    nearest_suspect_hops bigint,       -- links to the nearest suspect (null when none within reach)
    looked_after boolean,              -- looked after (null when not recorded)
    risk_level varchar                 -- latest screening's risk level (null when never screened)
);
