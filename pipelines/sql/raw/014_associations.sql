-- Links between persons, with the 3x5x2 intelligence grading where known. Pairs are stored sorted.
create table if not exists raw.associations (
    person_a varchar not null,
    person_b varchar not null,
    relation varchar not null,
    observed_at timestamptz,
    source_evaluation varchar,
    intelligence_evaluation varchar,
    handling varchar,
    file_id varchar not null,
    line bigint
);
