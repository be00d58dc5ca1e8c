-- The smallest network joining several people (`ctxrisk graph connect A B ...`, like i2's Find Connecting
-- Network): one row per link of that network. Rewritten by each command.
create table if not exists marts.graph_connect (
    person_a varchar not null,   -- one end of the link (pseudonymous person ID)
    person_b varchar not null,   -- the other end
    relations varchar not null,  -- relations recorded between them, ;-separated
    weight double not null,      -- link weight (recency-decayed, grading-weighted evidence)
    first_seen timestamptz,      -- earliest dated evidence of the link (null when undated)
    last_seen timestamptz        -- latest dated evidence of the link (null when undated)
);
