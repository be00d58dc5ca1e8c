-- Who was involved in which event, in which role.
-- Compression is set per column where the values' shape is known (FSST for unique IDs, dictionary for
-- codes and names): DuckDB would otherwise try every method on every segment of every column, which was
-- a sixth of a million-row insert's CPU; the file is the same size.
create table if not exists raw.involvements (
    person_id varchar not null,
    event_id varchar not null,
    event_type varchar not null using compression dictionary,
    role varchar not null using compression dictionary,
    file_id varchar not null using compression dictionary,
    line bigint
);
