"""Frame helpers for the protect outputs: membership and per-key text joins that stay fast at 100k keys."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["isin", "join_by"]


def isin(series: pd.Series, values: Iterable[str]) -> np.ndarray:
    """``series.isin(values)`` for text, as one Arrow set lookup (pandas converts ``values`` one at a time)."""
    if isinstance(values, pd.Series | pd.Index):
        wanted = pa.array(values, from_pandas=True)
    else:
        wanted = pa.array([str(v) for v in values], type=pa.string())
    column = pa.array(series, from_pandas=True)
    if column.type != pa.string():
        column = column.cast(pa.string())
    if wanted.type != pa.string():
        wanted = wanted.cast(pa.string())
    return np.asarray(pc.fill_null(pc.is_in(column, value_set=wanted), False))


def join_by(keys: pd.Series, values: pd.Series, sep: str) -> pd.Series:
    """``values`` joined with ``sep`` per key, in the order given; indexed by key (first-seen order)."""
    if keys.empty:
        return pd.Series(dtype=object)
    codes, uniques = pd.factorize(keys, sort=False)
    order = np.argsort(codes, kind="stable")
    text = values.astype(str).to_numpy(dtype=object)[order]
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    joined = [sep.join(part) for part in np.split(text, bounds)]
    return pd.Series(joined, index=pd.Index(uniques, name=keys.name))
