-- Changes between two periods of the association graph (`ctxrisk graph compare --split DATE`): the three
-- tables one command writes together. Each is rewritten by each command.

-- Links in the later period that the earlier one did not have, strongest first.
create table if not exists marts.graph_new_links (
    person_a varchar not null,   -- one end of the link (pseudonymous person ID)
    person_b varchar not null,   -- the other end
    relations varchar not null,  -- relations recorded between them, ;-separated
    weight double not null,      -- link weight in the later period
    first_seen timestamptz,      -- earliest dated evidence of the link (null when undated)
    last_seen timestamptz,       -- latest dated evidence of the link (null when undated)
    children bigint not null,    -- ends who are children (0-2)
    new_people bigint not null   -- ends not in the earlier period's graph (0-2)
);

-- Links of the earlier period that the later one does not have, strongest first.
create table if not exists marts.graph_dropped_links (
    person_a varchar not null,   -- one end of the link (pseudonymous person ID)
    person_b varchar not null,   -- the other end
    relations varchar not null,  -- relations recorded between them, ;-separated
    weight double not null,      -- link weight in the earlier period
    last_seen timestamptz        -- latest dated evidence of the link (null when undated)
);

-- Groups (two or more people) of the later period larger than the earlier group most of their members were
-- in, most growth first.
create table if not exists marts.graph_growing_groups (
    group_id bigint not null,      -- the later period's group number
    size_after bigint not null,    -- members in the later period
    size_before bigint not null,   -- size of that earlier group (0 when none)
    growth bigint not null,        -- size_after - size_before
    new_members varchar not null,  -- members not in that earlier group, ;-separated person IDs
    new_children bigint not null   -- of them, children
);
