-- Schema version, run log and audit trail.
create table if not exists meta.schema_info (
    schema_version integer not null,
    created_at timestamptz not null,
    created_by_version varchar not null
);

-- The schema files last applied, as one SHA-256 over their text: a warehouse whose fingerprint matches this
-- ctxrisk's is opened without running them again.
create table if not exists meta.schema_applied (
    fingerprint varchar not null,
    applied_at timestamptz not null,
    applied_by_version varchar not null
);

create table if not exists meta.run_log (
    run_id varchar not null,
    step varchar not null,
    started_at timestamptz not null,
    ended_at timestamptz,
    status varchar not null,          -- running | ok | failed | skipped | quarantined
    rows_read bigint,
    rows_loaded bigint,
    rows_rejected bigint,
    detail varchar,
    error varchar
);

create table if not exists meta.audit (
    recorded_at timestamptz not null,
    action varchar not null,          -- run | ingest | export | map | report | purge | init
    edition varchar,                  -- steering | intel | analyst
    target varchar,
    os_user varchar,
    detail varchar
);
