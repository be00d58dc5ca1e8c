"""Synthetic incidents (with their involvements), persons and missing episodes."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ctxrisk.synthetic.encode import _concat, _Encoder, _interleave, _take, _Writer
from ctxrisk.synthetic.plan import (
    _annulus,
    _disc,
    _minutes,
    _p,
    _Plan,
    _rng,
    _Site,
    _skewed,
    _town_points,
    _weighted_category_p,
)
from ctxrisk.synthetic.timeline import Timeline
from ctxrisk.synthetic.world import (
    _BG_CATEGORY_WEIGHTS,
    _BG_HOUR_WEIGHTS,
    _BG_LOCATION_WEIGHTS,
    _BG_SOURCE_WEIGHTS,
    _CAT,
    _CAT_THEME_IDX,
    _MISSING_HOUR_WEIGHTS,
    _SITE_SOURCE_WEIGHTS,
    _WEEKDAY0,
    AGE_REFERENCE_MONTH,
    CATEGORIES,
    CHUNK_ROWS,
    HALO_SHARE,
    LOCATION_TYPES,
    MISSING_PER_INCIDENT,
    N_DAYS,
    PERIOD_MINUTES,
    PLANTED_SITE_SHARE,
    ROLES,
    SEXES,
    SOURCES,
    THEME_CATEGORIES,
    THEMES,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------- incidents


def _site_days(rng: np.random.Generator, site: _Site, n: int) -> np.ndarray:
    u = rng.random(n)
    span = site.end_day - site.start_day
    if site.trend == "emerging":
        frac = np.sqrt(u)
    elif site.trend == "diminishing":
        frac = 1.0 - np.sqrt(u)
    else:
        frac = u
    return site.start_day + np.minimum(np.floor(span * frac), span - 1).astype(np.int64)


def _site_minutes(rng: np.random.Generator, site: _Site, n: int) -> np.ndarray:
    """Event minutes for a site: its trend over the window, its weekday and hour pattern (85 % of events)."""
    day = _site_days(rng, site, n)
    pattern = site.pattern
    follow = rng.random(n) < 0.85
    target = rng.choice(7, size=n, p=_p(pattern.weekday_weights))
    shifted = day + (target - (day + _WEEKDAY0) % 7) % 7
    shifted = np.where(shifted >= site.end_day, shifted - 7, shifted)
    shifted = np.where(shifted < site.start_day, day, shifted)
    day = np.where(follow, shifted, day)
    pattern_hour = rng.choice(np.array(pattern.hours), size=n, p=_p(pattern.hour_weights))
    any_hour = rng.choice(24, size=n, p=_p(_BG_HOUR_WEIGHTS))
    hour = np.where(follow, pattern_hour, any_hour)
    return day * 1440 + hour * 60 + rng.integers(0, 60, n)


def _incident_frame(n: int) -> dict[str, np.ndarray]:
    return {
        "x": np.zeros(n),
        "y": np.zeros(n),
        "t": np.zeros(n, np.int64),
        "date_only": np.zeros(n, bool),
        "bng": np.zeros(n, bool),
        "cat": np.zeros(n, np.int16),
        "theme_blank": np.zeros(n, bool),
        "ltype": np.zeros(n, np.int16),
        "source": np.zeros(n, np.int8),
    }


def _background_incidents(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    f = _incident_frame(n)
    f["x"], f["y"] = _town_points(rng, n)
    f["t"] = _minutes(rng, rng.integers(0, N_DAYS, n), _BG_HOUR_WEIGHTS)
    f["date_only"] = rng.random(n) < 0.04
    f["bng"] = rng.random(n) < 0.06
    cat = rng.choice(len(CATEGORIES), size=n, p=_weighted_category_p(_BG_CATEGORY_WEIGHTS)).astype(np.int16)
    f["cat"] = cat
    f["theme_blank"] = rng.random(n) < 0.05
    ltype = rng.choice(len(LOCATION_TYPES), size=n, p=_p(_BG_LOCATION_WEIGHTS)).astype(np.int16)
    ltype[cat == _CAT["Shoplifting"]] = LOCATION_TYPES.index("retail")
    ltype[rng.random(n) < 0.08] = -1
    f["ltype"] = ltype
    f["source"] = rng.choice(len(SOURCES), size=n, p=_p(_BG_SOURCE_WEIGHTS)).astype(np.int8)
    return f


def _planted_incidents(plan: _Plan, rng: np.random.Generator) -> tuple[dict, dict]:
    """Incidents at the planted sites and the involvements of network members in them.

    Each site has core events within ``SITE_RADIUS_M`` (all in the site's H3 resolution-9 cell) and a
    smaller halo of related events in the surrounding streets, so that the site is a cluster (which Gi*
    with conditional permutation needs) and not a lone spike.
    """
    share = _p(rng.uniform(0.8, 1.2, len(plan.sites)))
    counts = []
    for total in (round(PLANTED_SITE_SHARE * plan.n_incidents), round(HALO_SHARE * plan.n_incidents)):
        c = np.floor(share * total).astype(int)
        c[: total - c.sum()] += 1
        counts.append(c)
    frames, inv = [], []
    offset = 0
    for site, n_core, n_halo in zip(plan.sites, *counts, strict=False):
        n = int(n_core + n_halo)
        f = _incident_frame(int(n))
        halo = np.arange(n) >= n_core
        f["x"], f["y"] = _disc(rng, n, site.x, site.y)
        hx, hy = _annulus(rng, int(halo.sum()), site.x, site.y)
        f["x"][halo], f["y"][halo] = hx, hy
        f["t"] = _site_minutes(rng, site, n)
        f["bng"] = rng.random(n) < 0.06
        theme = rng.choice(np.array(site.themes), size=n)
        cats = np.zeros(n, dtype=np.int16)
        for t in dict.fromkeys(site.themes):  # vary within a theme (ordered: set order depends on hashing)
            options = np.array([_CAT[c] for c in THEME_CATEGORIES[t]], dtype=np.int16)
            sel = theme == t
            cats[sel] = rng.choice(options, size=int(sel.sum()))
        cats[rng.random(n) < 0.10] = _CAT["Anti-social behaviour"]
        f["cat"] = cats
        f["ltype"][:] = LOCATION_TYPES.index(site.location_type)
        f["ltype"][halo] = LOCATION_TYPES.index("street")
        f["source"] = rng.choice(len(SOURCES), size=n, p=_p(_SITE_SOURCE_WEIGHTS)).astype(np.int8)
        frames.append(f)
        row = offset + np.arange(n)
        if site.networks:
            adults = [(a, kids) for k in site.networks for a, kids in plan.networks[k].links.items()]
            adult_ids = np.array([a for a, _ in adults])
            width = max(len(k) for _, k in adults)
            links = np.full((len(adults), width), -1, dtype=np.int64)
            n_links = np.array([len(k) for _, k in adults])
            for i, (_, kids) in enumerate(adults):
                links[i, : len(kids)] = kids
            sel = rng.random(n) < 0.5
            r = row[sel]
            a = rng.integers(0, len(adults), len(r))
            j1 = np.floor(rng.random(len(r)) * n_links[a]).astype(int)
            j2 = (j1 + 1 + np.floor(rng.random(len(r)) * (n_links[a] - 1)).astype(int)) % n_links[a]
            two = rng.random(len(r)) < 0.5
            inv.append({"row": r, "person": adult_ids[a], "role": np.full(len(r), 1, np.int8)})
            inv.append({"row": r, "person": links[a, j1], "role": np.zeros(len(r), np.int8)})
            inv.append({"row": r[two], "person": links[a, j2][two], "role": np.zeros(int(two.sum()), np.int8)})
        else:
            sel = rng.random(n) < 0.3
            r = row[sel]
            pool = rng.random(len(r))
            person = np.where(
                pool < 0.3,
                _skewed(rng, plan.child_lo, plan.child_hi, len(r)),
                np.where(
                    pool < 0.6,
                    _skewed(rng, plan.ya_lo, plan.ya_hi, len(r)),
                    _skewed(rng, plan.adult_lo, plan.adult_hi, len(r)),
                ),
            )
            inv.append({"row": r, "person": person, "role": rng.choice([0, 1, 3], size=len(r)).astype(np.int8)})
        offset += n
    return _concat(frames), _concat(inv)


_ROLE_P = (
    _p([45, 30, 10, 15, 0, 0]),  # first person named
    _p([25, 35, 20, 20, 0, 0]),  # others
)


def _background_involvements(plan: _Plan, rng: np.random.Generator, rows: np.ndarray) -> dict[str, np.ndarray]:
    """People named in background incidents: 35 % have 1-3 people, roles and ages plausibly mixed."""
    has = rows[rng.random(len(rows)) < 0.35]
    k = rng.choice([1, 2, 3], size=len(has), p=[0.6, 0.3, 0.1])
    row = np.repeat(has, k)
    slot = np.arange(len(row)) - np.repeat(np.cumsum(k) - k, k)
    role = np.where(
        slot == 0, rng.choice(6, size=len(row), p=_ROLE_P[0]), rng.choice(6, size=len(row), p=_ROLE_P[1])
    ).astype(np.int8)
    u = rng.random(len(row))
    child_share = np.where(role == 1, 0.1, 0.4)
    ya_share = np.where(role == 1, 0.45, 0.25)
    person = np.where(
        u < child_share,
        _skewed(rng, plan.child_lo, plan.child_hi, len(row)),
        np.where(
            u < child_share + ya_share,
            _skewed(rng, plan.ya_lo, plan.ya_hi, len(row)),
            _skewed(rng, plan.adult_lo, plan.adult_hi, len(row)),
        ),
    )
    _, first = np.unique(row * plan.n_persons + person, return_index=True)
    first.sort()
    return {"row": row[first], "person": person[first], "role": role[first]}


def _write_incidents(plan: _Plan, seed: int, enc: _Encoder, out: _Writer, inv_out: _Writer) -> None:
    n = plan.n_incidents
    width = max(7, len(str(n)))
    planted, planted_inv = _planted_incidents(plan, _rng(seed, 2))
    for start, rows, frame, mask in _interleave(
        n, planted, lambda c, m: _background_incidents(_rng(seed, 3, c), m), _rng(seed, 4)
    ):
        m = len(mask)
        theme = _CAT_THEME_IDX[frame["cat"]].astype(np.int64)
        theme[frame["theme_blank"]] = -1
        cols = {
            "incident_id": enc.ids("INC", start + 1 + np.arange(m), width),
            "occurred_at": enc.times(frame["t"], frame["date_only"]),
            **enc.coordinates(frame["x"], frame["y"], frame["bng"]),
            "category": enc.codes(CATEGORIES, frame["cat"]),
            "theme": enc.codes(THEMES, theme),
            "location_type": enc.codes(LOCATION_TYPES, frame["ltype"]),
            "source": enc.codes(SOURCES, frame["source"]),
        }
        out.write(cols)
        # involvements: background rows of this chunk, then planted rows that fell in it
        bg = _background_involvements(plan, _rng(seed, 5, start // CHUNK_ROWS), np.flatnonzero(~mask))
        local = np.full(len(planted["x"]) if planted else 0, -1, dtype=np.int64)
        local[rows] = np.flatnonzero(mask)
        sel = local[planted_inv["row"]] >= 0 if len(local) else np.zeros(0, bool)
        inv = _concat(
            [
                bg,
                {
                    "row": local[planted_inv["row"][sel]],
                    "person": planted_inv["person"][sel],
                    "role": planted_inv["role"][sel],
                },
            ]
        )
        order = np.lexsort((inv["role"], inv["row"]))
        inv = _take(inv, order)
        inv_out.write(
            {
                "person_id": enc.persons(inv["person"]),
                "event_id": enc.ids("INC", start + 1 + inv["row"], width),
                "event_type": pa.array(np.full(len(inv["row"]), "incident")).cast(pa.string()),
                "role": enc.codes(ROLES, inv["role"]),
            }
        )
    log.info("wrote %s incidents (%s at planted sites)", f"{n:,}", f"{len(planted['x']):,}")


# --------------------------------------------------------------------------------------------- persons


def _write_persons(plan: _Plan, seed: int, enc: _Encoder, out: _Writer) -> None:
    """Birth month (never a full date), sex and looked-after status for each pseudonymous person."""
    networked = plan.networked_children
    by_id = np.argsort(plan.person_number)
    for chunk, lo in enumerate(range(0, plan.n_persons, CHUNK_ROWS)):
        rng = _rng(seed, 10, chunk)
        idx = by_id[lo : lo + CHUNK_ROWS]  # rows in pseudonym order, so row order reveals nothing
        n = len(idx)
        aoc = idx < plan.n_adults_of_concern
        group_child = (idx >= plan.n_adults_of_concern) & (idx < plan.child_lo)
        child = (idx >= plan.child_lo) & (idx < plan.child_hi)
        ya = (idx >= plan.ya_lo) & (idx < plan.ya_hi)
        months = np.select(
            [aoc, group_child, child, ya],
            [
                rng.integers(240, 540, n),
                rng.integers(144, 198, n),
                rng.integers(132, 192, n),
                rng.integers(216, 300, n),
            ],
            300 + np.floor(660 * rng.random(n) ** 1.5).astype(np.int64),
        )
        born = (AGE_REFERENCE_MONTH - months.astype("timedelta64[M]")).astype("datetime64[D]")
        birth = pc.cast(pa.array(born), pa.string())
        birth = pc.utf8_slice_codeunits(birth, 0, 7)
        unknown_birth = ~(aoc | group_child) & (rng.random(n) < 0.03)
        birth = pc.if_else(pa.array(unknown_birth), pa.scalar(None, pa.string()), birth)
        sex = np.where(
            aoc,
            rng.choice(4, size=n, p=[0.15, 0.85, 0, 0]),
            np.where(
                group_child,
                rng.choice(4, size=n, p=[0.55, 0.43, 0.01, 0.01]),
                rng.choice(4, size=n, p=[0.49, 0.49, 0.005, 0.015]),
            ),
        )
        is_child = group_child | child
        in_network = np.isin(idx, networked)
        looked = rng.random(n) < np.where(in_network, 0.35, np.where(group_child, 0.15, 0.06))
        out.write(
            {
                "person_id": enc.persons(idx),
                "birth_year_month": birth,
                "sex": enc.codes(SEXES, sex),
                "looked_after": pa.array(looked, mask=~is_child),
            }
        )
    log.info("wrote %s persons", f"{plan.n_persons:,}")


def _home_points(plan: _Plan, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Home (or placement) point of each child in the background and peer-group blocks."""
    rng = _rng(seed, 11)
    n = plan.child_hi - plan.n_adults_of_concern
    return _town_points(rng, n, spread=0.8)


# --------------------------------------------------------------------------------------------- missing


def _missing_frame(n: int) -> dict[str, np.ndarray]:
    return {
        "person": np.zeros(n, np.int64),
        "t": np.zeros(n, np.int64),
        "dur": np.zeros(n, np.int64),
        "away": np.zeros(n, bool),
        "fx": np.zeros(n),
        "fy": np.zeros(n),
        "gx": np.zeros(n),
        "gy": np.zeros(n),
        "bng": np.zeros(n, bool),
        "w0": np.zeros(n, np.int64),
        "w1": np.zeros(n, np.int64),
        "offer": np.zeros(n, np.int64),
        "done": np.zeros(n, np.int64),
    }


def _episode_details(
    rng: np.random.Generator, f: dict[str, np.ndarray], home: tuple[np.ndarray, np.ndarray], base: int
) -> None:
    """Fill duration, type, from-place and return home interview times (in place)."""
    n = len(f["t"])
    dur = np.round(np.exp(rng.normal(np.log(10 * 60), 1.0, n))).astype(np.int64) + 30
    end = f["t"] + dur
    ongoing = end >= PERIOD_MINUTES
    f["dur"] = np.where(ongoing, -1, dur)
    f["away"] = rng.random(n) < 0.15
    hx, hy = home
    k = f["person"] - base
    from_known = rng.random(n) < 0.7
    f["fx"] = np.where(from_known, hx[k] + rng.normal(0, 15, n), np.nan)
    f["fy"] = np.where(from_known, hy[k] + rng.normal(0, 15, n), np.nan)
    f["bng"] = rng.random(n) < 0.06
    offered = ~ongoing & (rng.random(n) < 0.9)
    quick = rng.random(n) < 0.75
    offer = end + np.where(quick, rng.integers(120, 60 * 60, n), rng.integers(72 * 60, 240 * 60, n))
    completed = offered & (rng.random(n) < 0.72)
    done = np.maximum(
        offer,
        end + np.where(rng.random(n) < 0.7, rng.integers(180, 72 * 60, n), rng.integers(72 * 60, 21 * 24 * 60, n)),
    )
    f["offer"] = np.where(offered & (offer < PERIOD_MINUTES), offer, -1)
    f["done"] = np.where(completed & (f["offer"] >= 0) & (done < PERIOD_MINUTES), done, -1)


def _planted_missing(plan: _Plan, seed: int, home: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """Episodes of networked and peer-group children: found at their network's site, often with others."""
    rng = _rng(seed, 20)
    kids, site_of, adult_of, peer_pool = [], [], [], []
    for net in plan.networks:
        for a, cs in net.links.items():
            for c in cs:
                if c not in kids:
                    kids.append(c)
                    site_of.append(net.site)
                    adult_of.append(a)
                    peer_pool.append([m for m in plan.groups[net.group] if m != c])
    n_networked = len(kids)
    in_net = set(kids)
    for g in plan.groups:
        for c in g:
            if c not in in_net:
                kids.append(c)
                site_of.append(-1)
                adult_of.append(-1)
                peer_pool.append([m for m in g if m != c])
    kids_a = np.array(kids, dtype=np.int64)
    counts = np.where(np.arange(len(kids)) < n_networked, 2 + rng.poisson(4, len(kids)), rng.integers(0, 3, len(kids)))
    owner = np.repeat(np.arange(len(kids)), counts)
    n = len(owner)
    f = _missing_frame(n)
    f["person"] = kids_a[owner]
    site_idx = np.array(site_of)[owner]
    at_site = (site_idx >= 0) & (rng.random(n) < 0.6)
    t = _minutes(rng, rng.integers(0, N_DAYS, n), _MISSING_HOUR_WEIGHTS)
    gx, gy = np.full(n, np.nan), np.full(n, np.nan)
    hx, hy = home
    k = f["person"] - plan.n_adults_of_concern
    elsewhere = ~at_site & (rng.random(n) < 0.8)
    gx[elsewhere] = hx[k[elsewhere]] + rng.normal(0, 1500, int(elsewhere.sum()))
    gy[elsewhere] = hy[k[elsewhere]] + rng.normal(0, 1500, int(elsewhere.sum()))
    for s in np.unique(site_idx[at_site]):
        sel = at_site & (site_idx == s)
        site = plan.sites[int(s)]
        gx[sel], gy[sel] = _disc(rng, int(sel.sum()), site.x, site.y)
        t[sel] = _site_minutes(rng, site, int(sel.sum()))
    f["t"], f["gx"], f["gy"] = t, gx, gy
    adult = np.array(adult_of, dtype=np.int64)[owner]
    f["w0"] = np.where(at_site & (rng.random(n) < 0.5), adult, -1)
    peer = np.array([p[int(rng.integers(len(p)))] if p else -1 for p in (peer_pool[o] for o in owner)], dtype=np.int64)
    f["w1"] = np.where(rng.random(n) < np.where(at_site, 0.45, 0.15), peer, -1)
    _episode_details(rng, f, home, plan.n_adults_of_concern)
    return f


def _background_missing(
    plan: _Plan, rng: np.random.Generator, n: int, home: tuple[np.ndarray, np.ndarray]
) -> dict[str, np.ndarray]:
    f = _missing_frame(n)
    f["person"] = _skewed(rng, plan.child_lo, plan.child_hi, n, power=3.0)
    f["t"] = _minutes(rng, rng.integers(0, N_DAYS, n), _MISSING_HOUR_WEIGHTS)
    hx, hy = home
    k = f["person"] - plan.n_adults_of_concern
    found = rng.random(n) < 0.8
    tx, ty = _town_points(rng, n)
    far = rng.random(n) < 0.15
    f["gx"] = np.where(found, np.where(far, tx, hx[k] + rng.normal(0, 1500, n)), np.nan)
    f["gy"] = np.where(found, np.where(far, ty, hy[k] + rng.normal(0, 1500, n)), np.nan)
    f["w0"] = np.full(n, -1, np.int64)
    f["w1"] = np.where(rng.random(n) < 0.05, _skewed(rng, plan.child_lo, plan.child_hi, n), -1)
    f["w1"] = np.where(f["w1"] == f["person"], -1, f["w1"])
    _episode_details(rng, f, home, plan.n_adults_of_concern)
    return f


def _write_missing(
    plan: _Plan, seed: int, enc: _Encoder, out: _Writer, inv_out: _Writer, home: tuple[np.ndarray, np.ndarray]
) -> None:
    planted = _planted_missing(plan, seed, home)
    total = max(round(MISSING_PER_INCIDENT * plan.n_incidents), len(planted["t"]))
    width = max(6, len(str(total)))
    timeline = Timeline(_rng(seed, 23), (plan.child_lo, plan.child_hi), home, plan.n_adults_of_concern)
    for start, _, f, is_planted in _interleave(
        total, planted, lambda c, m: _background_missing(plan, _rng(seed, 21, c), m, home), _rng(seed, 22)
    ):
        timeline.place(f, is_planted)  # no two episodes of one child overlap
        m = len(f["t"])
        end = np.where(f["dur"] >= 0, f["t"] + f["dur"], -1)
        ids = enc.ids("MIS", start + 1 + np.arange(m), width)
        from_xy = enc.coordinates(f["fx"], f["fy"], f["bng"])
        found_xy = enc.coordinates(f["gx"], f["gy"], f["bng"])
        out.write(
            {
                "episode_id": ids,
                "person_id": enc.persons(f["person"]),
                "started_at": enc.times(f["t"]),
                "ended_at": enc.times(end),
                "missing_type": enc.codes(("missing", "away"), f["away"].astype(int)),
                **{f"from_{k}": v for k, v in from_xy.items()},
                **{f"found_{k}": v for k, v in found_xy.items()},
                "found_with": enc.person_list([f["w0"], f["w1"]]),
                "rhi_offered_at": enc.times(f["offer"]),
                "rhi_completed_at": enc.times(f["done"]),
            }
        )
        row = np.arange(m)
        parts = [{"row": row, "person": f["person"], "role": np.full(m, 5, np.int8)}]  # subject
        for key in ("w0", "w1"):
            has = f[key] >= 0
            parts.append({"row": row[has], "person": f[key][has], "role": np.full(int(has.sum()), 4, np.int8)})
        inv = _concat(parts)
        inv = _take(inv, np.lexsort((inv["role"], inv["row"])))
        inv_out.write(
            {
                "person_id": enc.persons(inv["person"]),
                "event_id": pc.take(ids, pa.array(inv["row"])),
                "event_type": pa.array(np.full(len(inv["row"]), "missing")).cast(pa.string()),
                "role": enc.codes(ROLES, inv["role"]),
            }
        )
    log.info(
        "wrote %s missing episodes (%s planted; %s moved by whole weeks and %s given to another child so that no "
        "two of one child overlap)",
        f"{total:,}",
        f"{len(planted['t']):,}",
        f"{timeline.moved:,}",
        f"{timeline.reassigned:,}",
    )
