-- Whether a warehouse stores keyed pseudonyms of person IDs ('pseudonymised') or the IDs as given ('as-given'),
-- recorded by the first ingest of a file with person IDs; an ingest in the other mode is refused, so raw and
-- pseudonymised IDs never sit side by side (ctxrisk.pipelines.pseudonymise.check_mode).
create table if not exists meta.pseudonymisation (
    mode varchar not null,
    recorded_at timestamptz not null,
    file_id varchar
);
