-- All shortest paths between two people (`ctxrisk graph paths A B`): one row per path. Rewritten by each
-- command.
create table if not exists marts.graph_paths (
    path_id bigint not null,     -- 1.. in the order found
    hops bigint not null,        -- links on the path
    persons varchar not null,    -- person IDs along the path, ' > '-separated
    links varchar not null,      -- each link with its relations and dates
    start_date varchar not null, -- date of the path's first link, ISO YYYY-MM-DD ('' when undated)
    end_date varchar not null,   -- date of its last link, ISO YYYY-MM-DD ('' when undated)
    min_weight double not null   -- weakest link weight on the path
);
