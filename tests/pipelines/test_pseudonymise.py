"""Tests for ctxrisk.pipelines.pseudonymise: keyed HMAC-SHA256 pseudonyms."""

import hashlib
import hmac

import pandas as pd
import pytest

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.pseudonymise import load_key, pseudonym, pseudonymise_series

KEY = b"0123456789abcdef-key-of-32-bytes-or-more"


def test_pseudonym_is_keyed_hmac_sha256():
    expected = "p_" + hmac.new(KEY, b"P000123", hashlib.sha256).hexdigest()[:16]
    assert pseudonym("P000123", KEY) == expected
    assert pseudonym(" P000123 ", KEY) == expected
    assert pseudonym("P000123", KEY + b"x") != expected


def test_series_and_lists_keep_blanks():
    s = pd.Series(["A", None, "A;B", ""], dtype="object")
    single = pseudonymise_series(s.iloc[:2], KEY)
    assert single.iloc[0] == pseudonym("A", KEY) and pd.isna(single.iloc[1])
    listed = pseudonymise_series(s.iloc[2:], KEY, separator=";")
    assert listed.iloc[0] == f"{pseudonym('A', KEY)};{pseudonym('B', KEY)}"
    assert listed.iloc[1] == ""


def test_key_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("CTXRISK_PSEUDO_KEY", raising=False)
    monkeypatch.delenv("CTXRISK_PSEUDO_KEY_FILE", raising=False)
    with pytest.raises(ValidationError, match="needs a key"):
        load_key()
    monkeypatch.setenv("CTXRISK_PSEUDO_KEY", "short")
    with pytest.raises(ValidationError, match="too short") as info:
        load_key()
    assert "short" not in str(info.value).replace("too short", "")
    monkeypatch.setenv("CTXRISK_PSEUDO_KEY", KEY.decode())
    assert load_key() == KEY
    key_file = tmp_path / "key"
    key_file.write_bytes(b"file-key-0123456789-0123456789-0123\n")
    assert load_key(key_file=key_file) == b"file-key-0123456789-0123456789-0123"


@pytest.mark.parametrize(
    ("key", "match"),
    [
        (" " * 16, r"too short \(0 bytes"),
        (" " * 40, r"too short \(0 bytes"),
        ("a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3", r"too short \(30 bytes"),
        ("ab" * 20, r"only 2 different byte"),
    ],
)
def test_weak_keys_are_refused_without_quoting_them(monkeypatch, key, match):
    monkeypatch.setenv("CTXRISK_PSEUDO_KEY", key)
    with pytest.raises(ValidationError, match=match) as info:
        load_key()
    assert key.strip() not in str(info.value) or not key.strip()
