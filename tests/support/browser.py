"""Real-browser test harness: open a page in headless Debian Chromium, record errors, requests and a screenshot."""

from __future__ import annotations

import atexit
import os
import shutil
import struct
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_PATH = Path(os.environ.get("CTXRISK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: URL schemes a self-contained page may load without touching the network.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
VIEWPORT = (900, 650)


@dataclass
class PageReport:
    """What one page load produced.

    Attributes
    ----------
    console_errors : list of str
        Console messages of type ``error`` and uncaught page exceptions (``pageerror``), in order.
    requests_external : list of str
        Every request whose URL is not ``file:``/``data:``/``blob:``/``about:``. All of them are aborted,
        so a test never reaches the network.
    requests_local_failed : list of str
        ``file:`` requests that failed (e.g. a missing relative image).
    screenshot_png : bytes
        PNG screenshot of the viewport after the page settled.
    non_blank_fraction : float
        Share of screenshot pixels that differ from the most common colour (0 for a blank page);
        decoded from ``screenshot_png`` on first access (about a second in pure Python).
    page : playwright.sync_api.Page
        The open page, for further queries; closed with the harness.
    dialogs : list of str
        ``alert``/``confirm``/``prompt`` dialogs the page opened (each is dismissed), as ``"type: message"``;
        an injected script that ran would show here.
    """

    console_errors: list[str]
    requests_external: list[str]
    requests_local_failed: list[str]
    screenshot_png: bytes = field(repr=False)
    page: Any = field(repr=False)
    dialogs: list[str] = field(default_factory=list)

    @cached_property
    def non_blank_fraction(self) -> float:
        return non_blank_fraction(self.screenshot_png)


def chromium_status() -> tuple[bool, str]:
    """Say whether Chromium and python playwright are usable, with the reason when not."""
    if not CHROMIUM_PATH.is_file() or not os.access(CHROMIUM_PATH, os.X_OK):
        return False, (
            f"Chromium not found at {CHROMIUM_PATH}; install it with "
            "`apt-get update && apt-get install -y chromium` (or set CTXRISK_CHROMIUM)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:  # pragma: no cover - playwright is a pinned test dependency
        return False, f"python playwright is not importable: {exc}"
    return True, ""


def require_chromium() -> None:
    """Skip the calling test when Chromium is absent, or fail it when ``CI=true``."""
    ok, reason = chromium_status()
    if ok:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true requires the browser tests to run: {reason}", pytrace=False)
    pytest.skip(reason)


class BrowserSession:
    """One headless Chromium with an empty user-data-dir; pages opened from it share nothing."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._profile = tempfile.mkdtemp(prefix="ctxrisk-chromium-")
        self._playwright = sync_playwright().start()
        try:
            self._context = self._playwright.chromium.launch_persistent_context(
                self._profile,
                executable_path=str(CHROMIUM_PATH),
                headless=True,
                args=list(CHROMIUM_ARGS),
                viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]},
                service_workers="block",
            )
        except Exception:
            self._playwright.stop()
            shutil.rmtree(self._profile, ignore_errors=True)
            raise
        self._closed = False

    def open_page(self, path: str | os.PathLike[str], *, settle_ms: int = 300) -> PageReport:
        """Load a local HTML file, block and record every non-local request, and screenshot it."""
        url = Path(path).resolve().as_uri()
        page = self._context.new_page()
        errors: list[str] = []
        external: list[str] = []
        local_failed: list[str] = []

        def _route(route: Any) -> None:
            if route.request.url.startswith(LOCAL_SCHEMES):
                route.continue_()
            else:
                external.append(route.request.url)
                route.abort("blockedbyclient")

        page.route("**/*", _route)
        page.on(
            "console",
            lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        dialogs: list[str] = []

        def _dialog(dialog: Any) -> None:
            dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", _dialog)
        page.on(
            "requestfailed",
            lambda req: local_failed.append(req.url) if req.url.startswith("file:") else None,
        )
        page.goto(url, wait_until="load")
        page.wait_for_timeout(settle_ms)
        png = page.screenshot(type="png")
        return PageReport(
            console_errors=errors,
            requests_external=external,
            requests_local_failed=local_failed,
            screenshot_png=png,
            page=page,
            dialogs=dialogs,
        )

    def close(self) -> None:
        """Close Chromium and remove its profile folder."""
        if self._closed:
            return
        self._closed = True
        try:
            self._context.close()
        finally:
            self._playwright.stop()
            shutil.rmtree(self._profile, ignore_errors=True)


_SESSION: BrowserSession | None = None


def _session() -> BrowserSession:
    global _SESSION
    if _SESSION is None:
        require_chromium()
        _SESSION = BrowserSession()
        atexit.register(_SESSION.close)
    return _SESSION


def open_page(path: str | os.PathLike[str], *, settle_ms: int = 300) -> PageReport:
    """Open a local HTML file in the shared headless Chromium (skips/fails the test if it is absent)."""
    return _session().open_page(path, settle_ms=settle_ms)


@pytest.fixture
def browser_page():
    """Fixture returning ``open_page``; skips (or fails under ``CI=true``) without Chromium."""
    require_chromium()
    return open_page


AXE_PATH = Path(__file__).resolve().parent / "axe" / "axe.min.js"
#: The WCAG 2.1 A and AA rules of axe-core.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def axe_violations(page: Any, *, tags: tuple[str, ...] = AXE_TAGS) -> list[dict[str, Any]]:
    """Run the vendored axe-core (MPL-2.0, tests/support/axe) on an open page; return its violations.

    axe is evaluated through the DevTools protocol, so a page's Content-Security-Policy does not block it.
    Each violation is ``{"id", "impact", "help", "targets"}``.
    """
    page.evaluate(AXE_PATH.read_text(encoding="utf-8"))
    return page.evaluate(
        """(tags) => axe.run(document, {runOnly: {type: "tag", values: tags}}).then(r => r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(" "))})))""",
        list(tags),
    )


def print_pdf(page: Any) -> bytes:
    """Print an open page to PDF as Chromium does (print media, the page's own @page size and margins)."""
    page.emulate_media(media="print")
    page.wait_for_timeout(100)
    return page.pdf(prefer_css_page_size=True, print_background=True)


# ---------------------------------------------------------------------------------------------- PNG


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """Decode an 8-bit, non-interlaced greyscale/RGB/RGBA PNG.

    Returns
    -------
    (width, height, channels, pixels)
        ``pixels`` holds ``height`` rows of ``width * channels`` bytes, unfiltered.
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        msg = "not a PNG file"
        raise ValueError(msg)
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        msg = "PNG has no IHDR chunk"
        raise ValueError(msg)
    width, height, depth, colour, _comp, _filter, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace != 0:
        msg = f"unsupported PNG: bit depth {depth}, colour type {colour}, interlace {interlace}"
        raise ValueError(msg)
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    out = bytearray(height * stride)
    prev = bytearray(stride)
    bpp = channels
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                if i >= bpp:
                    a, c = line[i - bpp], prev[i - bpp]
                else:
                    a = c = 0
                b = prev[i]
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        elif ftype != 0:
            msg = f"bad PNG filter type {ftype} on row {y}"
            raise ValueError(msg)
        out[y * stride : (y + 1) * stride] = line
        prev = line
    return width, height, channels, bytes(out)


def non_blank_fraction(png: bytes) -> float:
    """Share of pixels whose colour differs from the most common colour of the image (0.0-1.0)."""
    width, height, channels, pixels = decode_png(png)
    counts = Counter(pixels[i : i + channels] for i in range(0, len(pixels), channels))
    _colour, most = counts.most_common(1)[0]
    return 1.0 - most / (width * height)
