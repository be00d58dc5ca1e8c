"""Synthetic intelligence, associations, screenings and referrals."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ctxrisk.synthetic.encode import _concat, _Encoder, _interleave, _Writer
from ctxrisk.synthetic.events import _site_minutes
from ctxrisk.synthetic.plan import (
    _disc,
    _grading,
    _minutes,
    _p,
    _Plan,
    _rng,
    _skewed,
    _town_points,
    _weighted_category_p,
)
from ctxrisk.synthetic.world import (
    _BG_HOUR_WEIGHTS,
    _BG_RELATION_WEIGHTS,
    _CAT,
    _CAT_THEME_IDX,
    _INTEL_CATEGORY_WEIGHTS,
    _OUTCOME_LIST,
    _OUTCOME_START,
    ASSOCIATIONS_PER_INCIDENT,
    CATEGORIES,
    CHUNK_ROWS,
    EXPLOITATION_THEMES,
    INTEL_EVALUATIONS,
    INTELLIGENCE_PER_INCIDENT,
    N_DAYS,
    PERIOD_MINUTES,
    REFERRAL_TYPES,
    RELATIONS,
    RISK_LEVELS,
    ROLES,
    THEME_CATEGORIES,
    THEMES,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------- intelligence


def _intel_frame(n: int) -> dict[str, np.ndarray]:
    return {
        "t": np.zeros(n, np.int64),
        "x": np.zeros(n),
        "y": np.zeros(n),
        "bng": np.zeros(n, bool),
        "cat": np.zeros(n, np.int16),
        "theme_blank": np.zeros(n, bool),
        "se": np.zeros(n, np.int8),
        "ie": np.zeros(n, np.int8),
        "ha": np.zeros(n, np.int8),
        **{f"p{i}": np.full(n, -1, np.int64) for i in range(4)},
    }


def _planted_intelligence(plan: _Plan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Graded intelligence naming an adult of concern with 1-3 of the children linked to them."""
    frames = []
    for net in plan.networks:
        site = plan.sites[net.site]
        n = 6 + int(rng.poisson(4))
        f = _intel_frame(n)
        at_site = rng.random(n) < 0.7
        x, y = _disc(rng, n, site.x, site.y)
        tx, ty = _town_points(rng, n)
        unlocated = ~at_site & (rng.random(n) < 0.5)
        f["x"] = np.where(at_site, x, np.where(unlocated, np.nan, tx))
        f["y"] = np.where(at_site, y, np.where(unlocated, np.nan, ty))
        f["t"] = _site_minutes(rng, site, n)
        f["bng"] = rng.random(n) < 0.06
        themes = [t for t in site.themes if t in EXPLOITATION_THEMES] or list(site.themes)
        f["cat"] = np.array([_CAT[THEME_CATEGORIES[str(rng.choice(themes))][0]] for _ in range(n)], np.int16)
        f["se"], f["ie"], f["ha"] = _grading(rng, n, strong=True)
        adults = list(net.links)
        for i in range(n):
            a = adults[int(rng.integers(len(adults)))]
            kids = rng.choice(net.links[a], size=int(rng.integers(1, min(3, len(net.links[a])) + 1)), replace=False)
            f["p0"][i] = a
            for j, c in enumerate(kids):
                f[f"p{j + 1}"][i] = c
        frames.append(f)
    return _concat(frames)


def _background_intelligence(plan: _Plan, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    f = _intel_frame(n)
    x, y = _town_points(rng, n)
    unlocated = rng.random(n) < 0.25
    f["x"], f["y"] = np.where(unlocated, np.nan, x), np.where(unlocated, np.nan, y)
    f["t"] = _minutes(rng, rng.integers(0, N_DAYS, n), _BG_HOUR_WEIGHTS)
    f["bng"] = rng.random(n) < 0.06
    f["cat"] = rng.choice(len(CATEGORIES), size=n, p=_weighted_category_p(_INTEL_CATEGORY_WEIGHTS)).astype(np.int16)
    f["theme_blank"] = rng.random(n) < 0.05
    f["se"], f["ie"], f["ha"] = _grading(rng, n, present=rng.random(n) < 0.95)
    k = np.where(rng.random(n) < 0.45, rng.choice([1, 2], size=n, p=[0.7, 0.3]), 0)
    f["p0"] = np.where(k >= 1, _skewed(rng, plan.child_lo, plan.adult_hi, n), -1)
    p1 = np.where(k >= 2, _skewed(rng, plan.child_lo, plan.adult_hi, n), -1)
    f["p1"] = np.where(p1 == f["p0"], -1, p1)
    return f


def _write_intelligence(plan: _Plan, seed: int, enc: _Encoder, out: _Writer, inv_out: _Writer) -> None:
    planted = _planted_intelligence(plan, _rng(seed, 30))
    total = max(round(INTELLIGENCE_PER_INCIDENT * plan.n_incidents), len(planted["t"]))
    width = max(6, len(str(total)))
    for start, _, f, _ in _interleave(
        total, planted, lambda c, m: _background_intelligence(plan, _rng(seed, 31, c), m), _rng(seed, 32)
    ):
        m = len(f["t"])
        theme = _CAT_THEME_IDX[f["cat"]].astype(np.int64)
        theme[f["theme_blank"]] = -1
        ids = enc.ids("INT", start + 1 + np.arange(m), width)
        people = [f[f"p{i}"] for i in range(4)]
        out.write(
            {
                "intel_id": ids,
                "reported_at": enc.times(f["t"]),
                **enc.coordinates(f["x"], f["y"], f["bng"]),
                "category": enc.codes(CATEGORIES, f["cat"]),
                "theme": enc.codes(THEMES, theme),
                "source_evaluation": enc.codes(("", "1", "2", "3"), np.where(f["se"] == 0, -1, f["se"])),
                "intelligence_evaluation": enc.codes(INTEL_EVALUATIONS, f["ie"]),
                "handling": enc.codes(("P", "C"), f["ha"]),
                "persons": enc.person_list(people),
            }
        )
        row = np.repeat(np.arange(m)[None, :], 4, axis=0).ravel()
        person = np.concatenate(people)
        keep = person >= 0
        order = np.lexsort((np.repeat(np.arange(4), m)[keep], row[keep]))
        row, person = row[keep][order], person[keep][order]
        inv_out.write(
            {
                "person_id": enc.persons(person),
                "event_id": pc.take(ids, pa.array(row)),
                "event_type": pa.array(np.full(len(row), "intelligence")).cast(pa.string()),
                "role": enc.codes(ROLES, np.full(len(row), 5)),
            }
        )
    log.info("wrote %s intelligence items (%s planted)", f"{total:,}", f"{len(planted['t']):,}")


# --------------------------------------------------------------------------------------------- associations


def _planted_associations(plan: _Plan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Dense links inside peer groups, adults to the children they exploit, sparse links outside."""
    a, b, rel, graded = [], [], [], []

    def add(p: int, q: int, relations: list[int], observations: int, grade: float) -> None:
        for _ in range(observations):
            a.append(p)
            b.append(q)
            rel.append(relations[int(rng.integers(len(relations)))])
            graded.append(rng.random() < grade)

    peer_relations = [0, 3, 4, 5]  # knows, social_media, phone_contact, co_offender
    for g, members in enumerate(plan.groups):
        for i, p in enumerate(members):
            for q in members[i + 1 :]:
                if rng.random() < 0.7 or q == members[(i + 1) % len(members)]:
                    add(p, q, peer_relations, 1 + int(rng.integers(3)), 0.2)
            if i == 0:
                add(members[0], members[-1], peer_relations, 1, 0.2)
        other = [m for h, ms in enumerate(plan.groups) if h != g for m in ms]
        if other:
            add(members[int(rng.integers(len(members)))], other[int(rng.integers(len(other)))], [0, 3], 1, 0.0)
        for _ in range(2):
            add(
                members[int(rng.integers(len(members)))],
                int(rng.integers(plan.child_lo, plan.child_hi)),
                [0, 1, 3],
                1,
                0.0,
            )
    for net in plan.networks:
        for adult, kids in net.links.items():
            for c in kids:
                add(adult, c, [0, 3, 4, 6], 1 + int(rng.integers(3)), 0.5)
        for i, p in enumerate(net.adults):
            for q in net.adults[i + 1 :]:
                add(p, q, [5, 4], 2, 0.5)
    n = len(a)
    rel_a = np.array(rel, dtype=np.int8)
    se, ie, ha = _grading(rng, n, present=np.array(graded) | (rel_a == 6), strong=True)
    return {
        "a": np.array(a, np.int64),
        "b": np.array(b, np.int64),
        "rel": rel_a,
        "t": _minutes(rng, rng.integers(0, N_DAYS, n), _BG_HOUR_WEIGHTS),
        "day_only": np.zeros(n, bool),
        "se": se,
        "ie": ie,
        "ha": ha,
    }


def _background_associations(plan: _Plan, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    lo, hi = plan.child_lo, plan.adult_hi
    a = _skewed(rng, lo, hi, n, power=1.5)
    b = _skewed(rng, lo, hi, n, power=1.5)
    b = np.where(a == b, lo + (b - lo + 1) % (hi - lo), b)
    rel = rng.choice(len(RELATIONS), size=n, p=_p(_BG_RELATION_WEIGHTS)).astype(np.int8)
    graded = (rng.random(n) < 0.25) | (rel == 6)
    se, ie, ha = _grading(rng, n, present=graded)
    return {
        "a": a,
        "b": b,
        "rel": rel,
        "t": _minutes(rng, rng.integers(0, N_DAYS, n), _BG_HOUR_WEIGHTS),
        "day_only": rng.random(n) < 0.2,
        "se": se,
        "ie": ie,
        "ha": ha,
    }


def _write_associations(plan: _Plan, seed: int, enc: _Encoder, out: _Writer) -> None:
    planted = _planted_associations(plan, _rng(seed, 40))
    total = max(round(ASSOCIATIONS_PER_INCIDENT * plan.n_incidents), len(planted["a"]))
    for _, _, f, _ in _interleave(
        total, planted, lambda c, m: _background_associations(plan, _rng(seed, 41, c), m), _rng(seed, 42)
    ):
        na, nb = plan.person_number[f["a"]], plan.person_number[f["b"]]
        first = np.where(na < nb, f["a"], f["b"])
        second = np.where(na < nb, f["b"], f["a"])
        t = np.where(f["day_only"], f["t"] - f["t"] % 1440, f["t"])
        key = np.stack([first, second, f["rel"].astype(np.int64), t, f["day_only"].astype(np.int64)])
        _, keep = np.unique(key, axis=1, return_index=True)
        keep.sort()
        f = {k: v[keep] for k, v in f.items()}
        first, second, t = first[keep], second[keep], t[keep]
        out.write(
            {
                "person_a": enc.persons(first),
                "person_b": enc.persons(second),
                "relation": enc.codes(RELATIONS, f["rel"]),
                "observed_at": enc.times(t, f["day_only"]),
                "source_evaluation": enc.codes(("", "1", "2", "3"), np.where(f["se"] == 0, -1, f["se"])),
                "intelligence_evaluation": enc.codes(INTEL_EVALUATIONS, f["ie"]),
                "handling": enc.codes(("P", "C"), f["ha"]),
            }
        )
    log.info("wrote %s associations (%s planted)", f"{out.rows:,}", f"{len(planted['a']):,}")


# --------------------------------------------------------------------------------------------- screenings & referrals


def _write_screenings_referrals(plan: _Plan, seed: int, enc: _Encoder, out: _Writer, ref_out: _Writer) -> None:
    """Pre-screens then full screens (higher risk for networked children) and the referrals that follow."""
    networked = plan.networked_children
    net_theme = _network_themes(plan)
    peers = np.array(sorted({c for g in plan.groups for c in g} - set(networked.tolist())), dtype=np.int64)
    for chunk, lo in enumerate(range(plan.n_adults_of_concern, plan.child_hi, CHUNK_ROWS)):
        rng = _rng(seed, 50, chunk)
        idx = np.arange(lo, min(lo + CHUNK_ROWS, plan.child_hi))
        is_net = np.isin(idx, networked)
        screened, t0, concern = _write_screenings(plan, enc, out, rng, idx, is_net=is_net, is_peer=np.isin(idx, peers))
        chunk_state = {"is_net": is_net, "screened": screened, "t0": t0, "concern": concern}
        _write_referrals(plan, enc, ref_out, rng, idx, **chunk_state, net_theme=net_theme)
    log.info("wrote %s screenings and %s referrals", f"{out.rows:,}", f"{ref_out.rows:,}")


def _network_themes(plan: _Plan) -> dict[int, set[str]]:
    """The themes of each networked child's network site, by child."""
    net_theme = {}
    for net in plan.networks:
        themes = set(plan.sites[net.site].themes)
        for kids in net.links.values():
            for c in kids:
                net_theme[c] = themes
    return net_theme


def _write_screenings(
    plan: _Plan,
    enc: _Encoder,
    out: _Writer,
    rng: np.random.Generator,
    idx: np.ndarray,
    *,
    is_net: np.ndarray,
    is_peer: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Write the screenings of the children ``idx``; return who was screened, when first, and who gave concern."""
    n = len(idx)
    screened = is_net | (is_peer & (rng.random(n) < 0.5)) | (rng.random(n) < 0.25)
    t0 = rng.integers(30, 520, n) * 1440 + rng.integers(8 * 60, 18 * 60, n)
    pre_risk = np.where(
        is_net,
        rng.choice(3, size=n, p=[0, 0.4, 0.6]),
        np.where(is_peer, rng.choice(3, size=n, p=[0.5, 0.45, 0.05]), rng.choice(3, size=n, p=[0.65, 0.28, 0.07])),
    )
    full = screened & np.where(is_net, rng.random(n) < 0.85, (pre_risk >= 1) & (rng.random(n) < 0.5))
    t1 = t0 + rng.integers(7, 60, n) * 1440 + rng.integers(-120, 120, n)
    full_risk = np.where(is_net, rng.choice(3, size=n, p=[0.05, 0.35, 0.6]), rng.choice(3, size=n, p=[0.3, 0.5, 0.2]))
    again = full & is_net & (rng.random(n) < 0.3)
    t2 = t1 + rng.integers(60, 120, n) * 1440
    full_risk2 = rng.choice(3, size=n, p=[0.1, 0.4, 0.5])
    parts = [(screened, t0, 0, pre_risk), (full, t1, 1, full_risk), (again, t2, 1, full_risk2)]
    who = np.concatenate([idx[s] for s, *_ in parts])
    when = np.concatenate([t[s] for s, t, *_ in parts])
    tool = np.concatenate([np.full(int(s.sum()), k) for s, _, k, _ in parts])
    risk = np.concatenate([r[s] for s, _, _, r in parts])
    order = np.lexsort((plan.person_number[who], when))  # by time, as an export would be
    out.write(
        {
            "person_id": enc.persons(who[order]),
            "screened_at": enc.times(when[order]),
            "tool": enc.codes(("pre_screen", "full"), tool[order]),
            "risk_level": enc.codes(RISK_LEVELS, risk[order]),
        }
    )
    return screened, t0, screened & (np.maximum(pre_risk, np.where(full, full_risk, 0)) >= 1)


def _write_referrals(
    plan: _Plan,
    enc: _Encoder,
    ref_out: _Writer,
    rng: np.random.Generator,
    idx: np.ndarray,
    *,
    is_net: np.ndarray,
    screened: np.ndarray,
    t0: np.ndarray,
    concern: np.ndarray,
    net_theme: dict[int, set[str]],
) -> None:
    """Write the referrals of the children ``idx`` (NRM for exploited networked children, MACE, early help ...)."""
    n = len(idx)
    exploit = np.array(
        [bool(net_theme.get(int(i), set()) & {"cce", "county_lines", "modern_slavery", "cse"}) for i in idx[is_net]],
        dtype=bool,
    )
    nrm = np.zeros(n, bool)
    nrm[np.flatnonzero(is_net)] = exploit & (rng.random(int(is_net.sum())) < 0.45)
    refs = [
        (is_net & (rng.random(n) < 0.8), 1),
        (nrm, 0),
        (
            (is_net & (rng.random(n) < 0.15))
            | (~is_net & concern & (rng.random(n) < 0.35))
            | (~screened & (rng.random(n) < 0.02)),
            3,
        ),
        (~is_net & concern & (rng.random(n) < 0.2), 1),
        (rng.random(n) < 0.01, 2),
        (~is_net & concern & (rng.random(n) < 0.10), 4),
    ]
    who, when, kind = [], [], []
    for sel, k in refs:
        who.append(idx[sel])
        when.append(t0[sel] + rng.integers(3, 45, int(sel.sum())) * 1440 + rng.integers(0, 480, int(sel.sum())))
        kind.append(np.full(int(sel.sum()), k))
    who, when, kind = np.concatenate(who), np.concatenate(when), np.concatenate(kind)
    _, keep = np.unique(np.stack([who, when, kind]), axis=1, return_index=True)
    who, when, kind = who[keep], when[keep], kind[keep]
    n_out = np.diff(_OUTCOME_START)[kind]
    outcome = _OUTCOME_START[kind] + np.floor(rng.random(len(kind)) * n_out).astype(int)
    outcome = np.where((rng.random(len(kind)) < 0.1) | (when > PERIOD_MINUTES - 30 * 1440), -1, outcome)
    order = np.lexsort((plan.person_number[who], when))  # by time, as an export would be
    ref_out.write(
        {
            "person_id": enc.persons(who[order]),
            "referred_at": enc.times(when[order]),
            "type": enc.codes(REFERRAL_TYPES, kind[order]),
            "outcome": enc.codes(_OUTCOME_LIST, outcome[order]),
        }
    )
