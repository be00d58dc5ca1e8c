"""Keyed HMAC-SHA256 pseudonyms for person IDs; the key is read, used and never stored or logged."""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.identifiers import identifier_in_values

ENV_KEY = "CTXRISK_PSEUDO_KEY"
ENV_KEY_FILE = "CTXRISK_PSEUDO_KEY_FILE"
PREFIX = "p_"
DIGEST_HEX_CHARS = 16
MIN_KEY_BYTES = 32
MIN_DISTINCT_BYTES = 8
MODE_PSEUDONYMISED = "pseudonymised"
MODE_AS_GIVEN = "as-given"
#: Columns holding person IDs in the raw tables (their rejected values are not kept when pseudonymising).
PERSON_COLUMNS = frozenset({"person_id", "person_a", "person_b", "found_with", "persons", "child_id"})
#: Ingest kinds whose files carry person IDs.
PERSON_KINDS = frozenset(
    {
        "persons",
        "involvements",
        "missing",
        "associations",
        "intelligence",
        "screenings",
        "referrals",
        "annex-a",
        "ssda903-missing",
    }
)
NOT_KEPT = " (value not kept: this ingest pseudonymises person IDs)"
IDENTIFIER_NOT_KEPT = " (value not kept: it holds what looks like an identifier)"


def load_key(*, key_file: str | Path | None = None) -> bytes:
    """Return the pseudonymisation key.

    Parameters
    ----------
    key_file : str, Path or None
        A file holding the key. When None, ``$CTXRISK_PSEUDO_KEY`` is used, else the file named by
        ``$CTXRISK_PSEUDO_KEY_FILE``.

    Raises
    ------
    ValidationError
        When no key is configured or the key is weak (see :func:`check_key`). The message never includes the key.
    """
    key: bytes | None = None
    if key_file is None and os.environ.get(ENV_KEY):
        key = os.environ[ENV_KEY].encode("utf-8")
    else:
        key_file = key_file or os.environ.get(ENV_KEY_FILE)
        if key_file:
            path = Path(key_file)
            if not path.is_file():
                msg = f"pseudonymisation key file {path} does not exist"
                raise ValidationError(msg)
            key = path.read_bytes().strip()
    if key is None:
        msg = f"--pseudonymise needs a key: set {ENV_KEY} or {ENV_KEY_FILE}, or pass --key-file"
        raise ValidationError(msg)
    check_key(key)
    return key


def check_key(key: bytes) -> None:
    """Refuse a weak key: fewer than 32 bytes that are not whitespace, or fewer than 8 different bytes.

    Raises
    ------
    ValidationError
        Saying what is wrong; never quoting the key.
    """
    solid = bytes(b for b in key if not chr(b).isspace())
    if len(solid) < MIN_KEY_BYTES:
        msg = (
            f"the pseudonymisation key is too short ({len(solid)} bytes that are not whitespace; at least "
            f"{MIN_KEY_BYTES} needed, e.g. the output of `openssl rand -hex 32`)"
        )
        raise ValidationError(msg)
    if len(set(solid)) < MIN_DISTINCT_BYTES:
        msg = (
            f"the pseudonymisation key is too weak: only {len(set(solid))} different byte value(s); use a random "
            "key (e.g. the output of `openssl rand -hex 32`)"
        )
        raise ValidationError(msg)


def pseudonym(value: str, key: bytes) -> str:
    """Return the pseudonym of one ID: ``p_`` + 16 hex digits of HMAC-SHA256(key, id)."""
    digest = hmac.new(key, value.strip().encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGEST_HEX_CHARS]


def pseudonymise_series(values: pd.Series, key: bytes, *, separator: str | None = None) -> pd.Series:
    """Pseudonymise a column of IDs (or of ``separator``-joined ID lists); blanks stay blank.

    Distinct values are hashed once, so a column of a million rows with 50,000 people costs 50,000 HMACs.
    """

    def one(text: object) -> object:
        if text is None or (isinstance(text, float) and pd.isna(text)) or pd.isna(text):
            return text
        text = str(text)
        if not text.strip():
            return text
        if separator is None:
            return pseudonym(text, key)
        return separator.join(pseudonym(part, key) for part in text.split(separator) if part.strip())

    uniques = pd.unique(values.dropna())
    mapping = {u: one(u) for u in uniques}
    return values.map(mapping, na_action="ignore")


def scrub_rejects(rejects: pd.DataFrame, *, pseudonymised: bool) -> pd.DataFrame:
    """Rejected rows safe to store: no value holding an identifier, and when pseudonymising no raw person ID.

    A refused value holding a full postcode, a valid NHS number, an e-mail address or a phone number is never
    kept. When pseudonymising, a whole record refused before its fields were known (a ragged line: no
    ``column_name``) and a refused person-ID value may hold the raw ID; their ``value`` is dropped too. The
    reason says so.
    """
    if rejects.empty:
        return rejects
    out = rejects.copy()
    out["value"] = out["value"].astype("object")
    present = out["value"].notna().to_numpy()
    texts = out["value"].where(present, None).astype("object")
    codes, uniques = pd.factorize(texts)
    found = np.array([*identifier_in_values([str(u) for u in uniques]), None], dtype=object)[codes]
    identifying = pd.notna(found) & present
    out.loc[identifying, "value"] = None
    out.loc[identifying, "reason"] = out.loc[identifying, "reason"].astype(str) + IDENTIFIER_NOT_KEPT
    if pseudonymised:
        risky = (out["column_name"].isna() | out["column_name"].isin(PERSON_COLUMNS)) & out["value"].notna()
        out.loc[risky, "value"] = None
        out.loc[risky, "reason"] = out.loc[risky, "reason"].astype(str) + NOT_KEPT
    return out


def check_mode(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, *, pseudonymised: bool, file_id: str) -> None:
    """Record the warehouse's pseudonymisation mode at its first file with person IDs; refuse the other mode.

    Call inside the file's transaction. Files without person-ID columns (police.uk data, boundaries) are
    not concerned.

    Raises
    ------
    ValidationError
        The warehouse holds pseudonymised IDs and this ingest has no key, or the reverse.
    """
    if not PERSON_COLUMNS & set(rows.columns):
        return
    mode = MODE_PSEUDONYMISED if pseudonymised else MODE_AS_GIVEN
    row = con.execute("select mode from meta.pseudonymisation order by recorded_at limit 1").fetchone()
    if row is None:
        # A warehouse filled before the mode was recorded: its earlier files with person IDs say which it is.
        earlier = con.execute(
            "select distinct pseudonymised from raw.ingest_files where kind in (select unnest(?::varchar[]))",
            [sorted(PERSON_KINDS)],
        ).fetchall()
        if len(earlier) == 1:
            recorded = MODE_PSEUDONYMISED if earlier[0][0] else MODE_AS_GIVEN
            con.execute("insert into meta.pseudonymisation values (?, ?, ?)", [recorded, datetime.now(UTC), None])
            row = (recorded,)
        else:
            con.execute("insert into meta.pseudonymisation values (?, ?, ?)", [mode, datetime.now(UTC), file_id])
            return
    if row[0] != mode:
        fix = (
            "ingest with --pseudonymise and the warehouse's key"
            if row[0] == MODE_PSEUDONYMISED
            else "ingest without --pseudonymise, or start a new warehouse for pseudonymised data"
        )
        msg = (
            f"this warehouse stores person IDs {row[0]} and this ingest would store them {mode}: mixing both "
            f"would link nothing and leak raw IDs; {fix}. Nothing was loaded from this file"
        )
        raise ValidationError(msg)
