-- Every bad row, kept aside with where it was and why it was refused.
create table if not exists raw.rejected_rows (
    file_id varchar not null,
    kind varchar not null,
    path varchar not null,
    line bigint,
    column_name varchar,
    value varchar,
    reason varchar not null,
    rule varchar
);
