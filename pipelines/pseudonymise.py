"""Keyed HMAC-SHA256 pseudonyms for person IDs; the key is read, used and never stored or logged."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import pandas as pd

from ctxrisk.pipelines.errors import ValidationError

ENV_KEY = "CTXRISK_PSEUDO_KEY"
ENV_KEY_FILE = "CTXRISK_PSEUDO_KEY_FILE"
PREFIX = "p_"
DIGEST_HEX_CHARS = 16
MIN_KEY_BYTES = 16


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
        When no key is configured or the key is shorter than 16 bytes. The message never includes the key.
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
    if len(key) < MIN_KEY_BYTES:
        msg = f"the pseudonymisation key is too short ({len(key)} bytes; at least {MIN_KEY_BYTES} needed)"
        raise ValidationError(msg)
    return key


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
