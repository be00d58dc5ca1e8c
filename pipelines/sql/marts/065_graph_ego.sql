-- Everyone within a few links of one person (`ctxrisk graph ego PERSON`): one row per person reached, the
-- person themself first (hops 0), then by hops and link weight. Rewritten by each command.
create table if not exists marts.graph_ego (
    person_id varchar not null,   -- pseudonymous person ID
    hops bigint not null,         -- links from the person asked about (0 for them)
    age_band varchar not null,    -- child, young_adult, adult or unknown
    is_suspect boolean not null,  -- ever recorded as a suspect
    looked_after boolean,         -- looked after (null when not recorded)
    risk_level varchar,           -- latest screening's risk level (null when never screened)
    via varchar not null,         -- their direct contact on a shortest path ('' for direct contacts)
    relations varchar not null,   -- relations of the direct link, ;-separated ('' beyond one hop)
    weight double                 -- weight of the direct link (null beyond one hop)
);
