"""Resident population per unit, the baseline of ``--baseline population`` (ONS LSOA estimates).

The partnership loads ONS mid-year population estimates for its LSOAs as a CSV named in
``[hotspots] population_csv``: one row per LSOA with its code (a column named ``lsoa_code``, ``LSOA Code``,
``LSOA 2021 Code``, ``LSOA 2011 Code`` or ``code``) and its residents (``population``, ``All Ages`` or
``Total``). The baseline needs LSOA units (``--unit lsoa11`` or ``lsoa21``): a rate per resident is only
meaningful for the areas the estimates are made for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import Settings

__all__ = ["population_of_units", "read_population"]

_CODE = ("lsoa_code", "lsoa code", "lsoa 2021 code", "lsoa 2011 code", "lsoa21cd", "lsoa11cd", "code")
_COUNT = ("population", "all ages", "total")


def read_population(path: str | Path) -> pd.Series:
    """Residents by LSOA code from an ONS estimates CSV (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        msg = f"{p}: population estimates file not found ([hotspots] population_csv)"
        raise ValidationError(msg)
    frame = pd.read_csv(p, dtype=str)
    lower = {c.strip().lower(): c for c in frame.columns}
    code = next((lower[c] for c in _CODE if c in lower), None)
    count = next((lower[c] for c in _COUNT if c in lower), None)
    if code is None or count is None:
        msg = f"{p}: needs an LSOA code column ({', '.join(_CODE)}) and a population column ({', '.join(_COUNT)})"
        raise ValidationError(msg)
    values = pd.to_numeric(frame[count].str.replace(",", ""), errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        msg = f"{p}, line {line}, column {count!r}: not a non-negative number ({frame[count].iloc[line - 2]!r})"
        raise ValidationError(msg)
    return pd.Series(values.to_numpy(float), index=frame[code].str.strip()).groupby(level=0).sum()


def population_of_units(con: duckdb.DuckDBPyConnection, units: Any, *, settings: Settings) -> np.ndarray:
    """Residents of each unit (LSOA units only), from ``[hotspots] population_csv``."""
    path = settings.hotspots.population_csv
    if not path:
        msg = (
            "--baseline population needs ONS LSOA population estimates: set [hotspots] population_csv to a CSV "
            "of LSOA codes and residents"
        )
        raise ValidationError(msg)
    if units.spec.kind != "polygon" or not str(units.spec.level).startswith("lsoa"):
        msg = f"--baseline population needs LSOA units (--unit lsoa11 or lsoa21), not {units.spec.label}"
        raise ValidationError(msg)
    pop = read_population(path)
    missing = [c for c in units.ids if c not in pop.index]
    if missing:
        msg = f"{path}: no population for {len(missing):,} LSOA(s) of the region, e.g. {missing[:3]}"
        raise ValidationError(msg)
    return pop.reindex(units.ids).to_numpy(float)
