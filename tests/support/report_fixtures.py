"""A tiny partnership warehouse for the outcome-report tests: 2026Q3 against 2026Q2, counts chosen by hand."""

from __future__ import annotations

import csv
from pathlib import Path

from ctxrisk.pipelines.ingest import ingest_file

THEMES = ("cse", "cce", "county_lines", "missing", "radicalisation", "modern_slavery", "serious_violence", "other")


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _incidents() -> list[list[object]]:
    rows: list[list[object]] = []

    def add(when: str, theme: str, *, located: bool = True) -> None:
        i = len(rows) + 1
        lat, lon = (f"{53.0912 + i * 0.00137:.6f}", f"{-2.4417 - i * 0.00093:.6f}") if located else ("", "")
        rows.append([f"INC{i:03d}", when, lat, lon, theme.replace("_", " "), theme])

    # 2026Q3: cse 6 (one unlocated, one dated to the day), cce 2, county lines 5 (one at 00:30 BST on 1 July)
    for d in range(1, 5):
        add(f"2026-07-{d + 10:02d} 14:00", "cse")
    add("2026-08-05", "cse")
    add("2026-09-20 21:15", "cse", located=False)
    add("2026-08-01 10:00", "cce")
    add("2026-09-01 10:00", "cce")
    add("2026-07-01 00:30", "county_lines")  # 30 June 23:30 UTC: still the July-September quarter in the UK
    for d in range(1, 5):
        add(f"2026-08-{d + 10:02d} 16:00", "county_lines")
    # 2026Q2: cse 5, county lines 7 (one at 23:30 on 30 June)
    for d in range(1, 6):
        add(f"2026-05-{d + 10:02d} 14:00", "cse")
    add("2026-06-30 23:30", "county_lines")
    for d in range(1, 7):
        add(f"2026-04-{d + 10:02d} 16:00", "county_lines")
    return rows


CHILDREN = [f"child-{i:03d}" for i in range(1, 16)]


def _missing() -> list[list[object]]:
    rows: list[list[object]] = []

    def add(
        child: str,
        start: str,
        end: str,
        kind: str = "missing",
        offered: str = "",
        completed: str = "",
        found: bool = True,
    ) -> None:
        i = len(rows) + 1
        flat, flon = (f"{53.1043 + i * 0.00211:.6f}", f"{-2.4301 - i * 0.00117:.6f}") if found else ("", "")
        rows.append([f"MIS{i:03d}", child, start, end, kind, offered, completed, flat, flon])

    a, b, c, d, e, f, g = CHILDREN[:7]
    # 2026Q3: 12 episodes (10 missing, 2 away) of 6 children; a and b went missing 3 times each
    # returns 11 (10 + g's episode from 30 June), offered within 72 h 9, completed within 72 h 6
    spec = [
        (a, "2026-07-02", "missing", True, True),
        (a, "2026-07-09", "missing", True, True),
        (a, "2026-07-16", "missing", True, True),
        (b, "2026-08-02", "missing", True, True),
        (b, "2026-08-09", "missing", True, True),
        (b, "2026-08-16", "missing", True, False),
        (c, "2026-09-02", "missing", True, False),
        (c, "2026-09-09", "missing", False, False),
        (d, "2026-09-12", "missing", False, False),
        (d, "2026-09-14", "away", False, False),
        (e, "2026-09-15", "away", False, False),
        (f, "2026-09-16", "missing", True, False),
    ]
    for n, (child, day, kind, offered, completed) in enumerate(spec):
        off = f"{day} 20:00" if offered else (f"{day[:8]}{int(day[8:]) + 4:02d} 18:00" if kind == "missing" else "")
        done = (
            f"{day[:8]}{int(day[8:]) + 1:02d} 12:00"
            if completed
            else (f"{day[:8]}{int(day[8:]) + 5:02d} 12:00" if kind == "missing" else "")
        )
        add(child, f"{day} 08:00", f"{day} 14:00", kind, off, done, found=n >= 3)
    # 2026Q2: 7 episodes of 7 children, all offered and completed within 72 h except two completions;
    # g's episode starts on 30 June and ends on 1 July: an episode of 2026Q2, a return of 2026Q3
    q2 = [(CHILDREN[7 + k], f"2026-05-{k + 3:02d}") for k in range(6)]
    for k, (child, day) in enumerate(q2):
        done = f"{day[:8]}{int(day[8:]) + 1:02d} 10:00" if k < 4 else f"{day[:8]}{int(day[8:]) + 6:02d} 10:00"
        add(child, f"{day} 08:00", f"{day} 20:00", "missing", f"{day} 21:00", done)
    add(g, "2026-06-30 22:00", "2026-07-01 02:00", "missing", "2026-07-01 09:00", "2026-07-02 09:00")
    return rows


def _screenings() -> list[list[object]]:
    rows = [
        [CHILDREN[0], "2026-07-01 10:00", "pre_screen", "low"],
        [CHILDREN[0], "2026-08-01 10:00", "full", "high"],  # latest in Q3: high
        [CHILDREN[8], "2026-08-03 10:00", "pre_screen", "high"],
        [CHILDREN[8], "2026-08-03 10:00", "full", "low"],  # same instant: the full screening wins
        [CHILDREN[0], "2026-05-01 10:00", "full", "medium"],  # Q2
    ]
    rows += [[CHILDREN[k], f"2026-09-{k + 1:02d} 10:00", "full", "medium"] for k in range(1, 6)]
    return rows


def _referrals() -> list[list[object]]:
    rows = []
    for k in range(5):
        rows.append([CHILDREN[k], f"2026-07-{k + 2:02d} 09:00", "mace", "multi-agency plan agreed"])
    for k in range(2):
        rows.append([CHILDREN[k], f"2026-08-{k + 2:02d} 09:00", "nrm", "awaiting decision"])
    for k in range(6):
        rows.append([CHILDREN[k + 5], f"2026-09-{k + 2:02d} 09:00", "early_help", ""])
    rows.append([CHILDREN[0], "2026-04-02 09:00", "mace", ""])
    for k in range(5):
        rows.append([CHILDREN[k + 1], f"2026-05-{k + 2:02d} 09:00", "early_help", ""])
    return rows


def build_tiny_warehouse(con, settings, folder: Path) -> None:
    """Ingest the tiny partnership files into ``con``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "persons": _write(
            folder / "persons.csv",
            ["person_id", "birth_year_month", "sex", "looked_after"],
            [[p, "2011-03", "female" if i % 2 else "male", "yes" if i < 3 else "no"] for i, p in enumerate(CHILDREN)],
        ),
        "incidents": _write(
            folder / "incidents.csv",
            ["incident_id", "occurred_at", "latitude", "longitude", "category", "theme"],
            _incidents(),
        ),
        "missing": _write(
            folder / "missing.csv",
            [
                "episode_id",
                "person_id",
                "started_at",
                "ended_at",
                "missing_type",
                "rhi_offered_at",
                "rhi_completed_at",
                "found_latitude",
                "found_longitude",
            ],
            _missing(),
        ),
        "screenings": _write(
            folder / "screenings.csv", ["person_id", "screened_at", "tool", "risk_level"], _screenings()
        ),
        "referrals": _write(folder / "referrals.csv", ["person_id", "referred_at", "type", "outcome"], _referrals()),
    }
    for kind, path in files.items():
        result = ingest_file(con, kind, path, settings=settings)
        assert result.rows_rejected == 0, (kind, result)


def warehouse_secrets(con) -> tuple[list[str], list[tuple[float, float]]]:
    """Every person ID and every event coordinate (WGS84) held in the warehouse."""
    ids = {
        r[0]
        for sql in (
            "select person_id from raw.persons",
            "select person_id from raw.involvements",
            "select person_id from raw.missing_episodes",
            "select unnest(found_with) from raw.missing_episodes where found_with is not null",
            "select person_a from raw.associations union select person_b from raw.associations",
            "select unnest(persons) from raw.intelligence where persons is not null",
            "select person_id from raw.screenings",
            "select person_id from raw.referrals",
        )
        for r in con.execute(sql).fetchall()
    }
    coords = con.execute(
        """
        select latitude, longitude from staging.events where latitude is not null
        union all select from_latitude, from_longitude from raw.missing_episodes where from_latitude is not null
        union all select found_latitude, found_longitude from raw.missing_episodes where found_latitude is not null
        """
    ).fetchall()
    return sorted(i for i in ids if i), [(float(a), float(b)) for a, b in coords]
