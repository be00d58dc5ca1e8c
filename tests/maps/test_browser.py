"""Tests for the browser harness helpers in tests/browser.py: PNG decoding, blankness, Chromium gating."""

from __future__ import annotations

import struct
import zlib

import pytest
from support import browser
from support.browser import decode_png, non_blank_fraction, require_chromium


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _encode(rows: list[bytes], width: int, channels: int, filters: list[int]) -> bytes:
    """PNG encoder applying the given filter type to each row (reference filters from the PNG spec)."""
    colour = {1: 0, 3: 2, 4: 6}[channels]
    raw = bytearray()
    prev = bytes(width * channels)
    for row, ftype in zip(rows, filters, strict=True):
        out = bytearray()
        for i, x in enumerate(row):
            a = row[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 0:
                pred = 0
            elif ftype == 1:
                pred = a
            elif ftype == 2:
                pred = b
            elif ftype == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out.append((x - pred) & 0xFF)
        raw += bytes([ftype]) + out
        prev = row
    ihdr = struct.pack(">IIBBBBB", width, len(rows), 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(bytes(raw))) + _chunk(b"IEND", b"")
    )


def _rows(width: int, height: int, channels: int) -> list[bytes]:
    return [
        bytes((x * 37 + y * 91 + k * 53) % 256 for x in range(width) for k in range(channels)) for y in range(height)
    ]


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_decode_png_undoes_every_filter_type(channels):
    rows = _rows(7, 10, channels)
    png = _encode(rows, 7, channels, [0, 1, 2, 3, 4, 4, 3, 2, 1, 0])
    assert decode_png(png) == (7, 10, channels, b"".join(rows))


def test_non_blank_fraction_counts_pixels_off_the_commonest_colour():
    background, ink = bytes([221, 221, 221]), bytes([200, 30, 30])
    rows = [background * 10 for _ in range(9)] + [ink * 4 + background * 6]
    assert non_blank_fraction(_encode(rows, 10, 3, [4] * 10)) == pytest.approx(4 / 100)
    assert non_blank_fraction(_encode([background * 10] * 10, 10, 3, [1] * 10)) == 0.0


def test_decode_png_refuses_other_formats():
    with pytest.raises(ValueError, match="not a PNG"):
        decode_png(b"GIF89a")
    ihdr = struct.pack(">IIBBBBB", 1, 1, 16, 2, 0, 0, 0)
    png16 = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="bit depth 16"):
        decode_png(png16)


def test_missing_chromium_skips_outside_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "CHROMIUM_PATH", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium not found"):
        require_chromium()


def test_missing_chromium_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "CHROMIUM_PATH", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true requires the browser tests.*Chromium not found"):
        require_chromium()
