-- One row per file ingested: its digest, kind and reconciliation counts.
create table if not exists raw.ingest_files (
    file_id varchar not null,
    kind varchar not null,
    path varchar not null,
    sha256 varchar not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_rejected bigint not null,
    ingested_at timestamptz not null,
    run_id varchar,
    pseudonymised boolean not null default false
);
