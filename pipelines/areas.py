"""Assign every located event to the loaded areas of each level by point-in-polygon in DuckDB."""

from __future__ import annotations

import logging

import duckdb

from pipelines.warehouse import load_spatial, transaction

log = logging.getLogger(__name__)


def boundaries_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``raw.boundaries`` holds at least one area."""
    return bool(con.execute("select count(*) > 0 from raw.boundaries").fetchone()[0])


def assign_event_areas(con: duckdb.DuckDBPyConnection, *, only_new: bool = True) -> int:
    """Fill ``raw.event_areas``: for each located event and each loaded level, the area holding the point.

    Parameters
    ----------
    only_new : bool
        True: test only events with no area yet (after an event ingest; events outside every area are
        tested again, which costs little). False: rebuild every assignment (after boundaries change).

    Returns
    -------
    int
        Rows added to ``raw.event_areas``.

    Notes
    -----
    A point on the shared edge of two areas of one level is given to the area with the smaller code, so
    each event has at most one area per level. Events in no loaded area get no row and are flagged
    ``out_of_area`` by ``staging.events``. Assignments of events that no longer exist are removed.
    """
    if not boundaries_loaded(con):
        return 0
    load_spatial(con)
    with transaction(con):
        if only_new:
            con.execute(
                """
                delete from raw.event_areas ea
                where not exists (select 1 from staging.events e
                                  where e.event_type = ea.event_type and e.event_id = ea.event_id)
                   or ea.level not in (select distinct level from raw.boundaries)
                """
            )
        else:
            con.execute("delete from raw.event_areas")
        con.execute(
            "create or replace temp table _areas as "
            "select level, code, ST_GeomFromText(geometry_wkt) as geom from raw.boundaries"
        )
        new_filter = (
            "and not exists (select 1 from raw.event_areas ea where ea.event_type = e.event_type "
            "and ea.event_id = e.event_id)" if only_new else ""
        )
        con.execute(
            f"""
            create or replace temp table _points as
            select e.event_type, e.event_id, ST_Point(e.longitude, e.latitude) as pt
            from staging.events e
            where e.located and e.longitude is not null and e.latitude is not null {new_filter}
            """
        )
        before = con.execute("select count(*) from raw.event_areas").fetchone()[0]
        con.execute(
            """
            insert into raw.event_areas (event_type, event_id, level, area_code)
            select p.event_type, p.event_id, a.level, min(a.code)
            from _points p join _areas a on ST_Intersects(a.geom, p.pt)
            group by p.event_type, p.event_id, a.level
            """
        )
        after = con.execute("select count(*) from raw.event_areas").fetchone()[0]
        tested = con.execute("select count(*) from _points").fetchone()[0]
        con.execute("drop table _areas")
        con.execute("drop table _points")
    added = int(after - before)
    log.info("assigned %s event(s) to areas: %s assignment(s) added", f"{tested:,}", f"{added:,}")
    return added
