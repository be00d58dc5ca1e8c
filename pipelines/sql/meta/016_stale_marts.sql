-- Derived marts removed by a retention purge (ctxrisk.pipelines.purge): their counts came partly from purged
-- records. A mart leaves this list when it is written again (ctxrisk.pipelines.warehouse.write_mart); until then
-- `ctxrisk status` names it and says to rerun `ctxrisk run` (or the mart's command).
create table if not exists meta.stale_marts (
    mart varchar not null,
    made_stale_at timestamptz not null,
    reason varchar not null
);
