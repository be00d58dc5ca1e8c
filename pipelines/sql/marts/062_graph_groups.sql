-- Leiden groups of closely linked people (`ctxrisk graph groups`, or the scheduled run's graph step): one row
-- per group of marts.graph_group_members, the partition of the seed with the highest modularity.
create table if not exists marts.graph_groups (
    group_id bigint not null,               -- 1 = largest group (ties: most children, then first person ID)
    size bigint not null,                   -- people in the group
    children bigint not null,               -- children
    adults bigint not null,                 -- young adults (18-24) and adults (25+)
    unknown_age bigint not null,            -- people of unknown age
    suspects bigint not null,               -- people ever recorded as a suspect
    looked_after_children bigint not null,  -- children looked after
    internal_weight double not null,        -- sum of the weights of the links inside the group
    shared_locations bigint not null,       -- locations linked to two or more members
    top_locations varchar not null          -- up to five of them (most members first), ;-separated; '' for none
);
