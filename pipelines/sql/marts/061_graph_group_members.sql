-- Every person of the association graph with the Leiden group they fall in (`ctxrisk graph groups`, or the
-- scheduled run's graph step): one row per person, by group then person. marts.graph_groups has one row per
-- group.
create table if not exists marts.graph_group_members (
    person_id varchar not null,             -- pseudonymous person ID
    group_id bigint not null,               -- 1 = largest group (ties: most children, then first person ID)
    age_band varchar not null,              -- child, young_adult, adult or unknown
    group_size bigint not null,             -- people in the group
    group_children bigint not null,         -- children in the group
    group_adults bigint not null,           -- young adults and adults in the group
    group_shared_locations bigint not null  -- locations linked to two or more members of the group
);
