-- Who was involved in which event, in which role.
create table if not exists raw.involvements (
    person_id varchar not null,
    event_id varchar not null,
    event_type varchar not null,
    role varchar not null,
    file_id varchar not null,
    line bigint
);
