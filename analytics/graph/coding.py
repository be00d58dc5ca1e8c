"""Coding of IDs, categories and times into integer and datetime arrays for the graph build."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: int64 view of numpy's NaT: sorts before every real time.
NAT = np.iinfo(np.int64).min


def ids(values: pd.Series | np.ndarray) -> np.ndarray:
    """IDs as an object array of str (None where missing)."""
    arr = (
        np.asarray(values, dtype=object)
        if not isinstance(values, pd.Series)
        else values.to_numpy(dtype=object, na_value=None)
    )
    return (
        np.array([None if v is None or v is pd.NA or v != v else str(v) for v in arr], dtype=object)
        if arr.size
        else arr
    )


def factorize(values: pd.Series | np.ndarray, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Codes (``-1`` where missing) and the distinct values as str (hashing runs in C, on Arrow where it can)."""
    codes, uniques = pd.factorize(values, sort=sort)
    names = np.array([str(u) for u in np.asarray(uniques, dtype=object)], dtype=object)
    return np.asarray(codes, dtype=np.int64), names


def codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, int]:
    """Codes (``-1`` where missing) and how many distinct values there are, without making their strings."""
    codes, uniques = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64), len(uniques)


def names(uniques: Any, codes: np.ndarray) -> np.ndarray:
    """``str`` of the distinct values at ``codes``; each distinct one becomes a Python string once."""
    if not codes.size:
        return np.empty(0, dtype=object)
    wanted, inverse = np.unique(codes, return_inverse=True)
    picked = uniques.take(wanted) if hasattr(uniques, "take") else np.asarray(uniques)[wanted]
    return np.array([str(u) for u in np.asarray(picked, dtype=object)], dtype=object)[inverse]


def unique_ints(values: np.ndarray) -> np.ndarray:
    """Sorted distinct integers (a sort, several times faster here than numpy 2's hash-based ``np.unique``)."""
    out = np.sort(values)
    return out[np.r_[True, out[1:] != out[:-1]]] if out.size else out


def times(values: pd.Series | np.ndarray) -> np.ndarray:
    """UTC times as a naive ``datetime64[us]`` array (NaT where missing)."""
    series = pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        series = pd.to_datetime(series, utc=True)
    return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
