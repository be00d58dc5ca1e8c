"""Board papers: print the outcome report to an A4 PDF with headless Chromium (Playwright's ``page.pdf``).

The page is printed from a private temporary copy with JavaScript off and every request that is not
``file:``/``data:`` aborted, so printing makes no network request. The page's own print styles apply
(``@page { size: A4 }``); a footer carries the report's title and "page N of M".
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ctxrisk.maps.report_html import esc
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.fsutil import atomic_write_bytes

__all__ = ["CHROMIUM", "html_to_pdf"]

logger = logging.getLogger(__name__)

#: Chromium used for printing: ``$CTXRISK_CHROMIUM`` or Debian's ``/usr/bin/chromium``.
CHROMIUM = Path(os.environ.get("CTXRISK_CHROMIUM", "/usr/bin/chromium"))
_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
_FOOTER = (
    '<div style="font-size:8px;width:100%;padding:0 15mm;color:#444;display:flex;justify-content:space-between">'
    '<span>{title}</span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
)


def _chromium(path: Path | None) -> Path:
    exe = Path(path) if path is not None else CHROMIUM
    if not exe.is_file() or not os.access(exe, os.X_OK):
        msg = (
            f"cannot make a PDF: Chromium not found at {exe}; install it (`apt-get install chromium`) or set "
            "CTXRISK_CHROMIUM, or write HTML with --format html"
        )
        raise ValidationError(msg)
    return exe


def html_to_pdf(html: str, out: str | os.PathLike[str], *, title: str, chromium: Path | None = None) -> Path:
    """Print a self-contained page to an A4 PDF, written atomically with mode 0600.

    Parameters
    ----------
    html : str
        The complete page (e.g. :func:`ctxrisk.maps.report.build_report`).
    out : str or path-like
        The PDF to write; its folder is created when missing.
    title : str
        Text of the footer on every page (escaped).
    chromium : pathlib.Path, optional
        Chromium executable (default :data:`CHROMIUM`).

    Returns
    -------
    pathlib.Path
        The written PDF.

    Raises
    ------
    ValidationError
        When Chromium or Playwright is not available, or ``out`` is a folder.
    """
    exe = _chromium(chromium)
    target = Path(out)
    if target.is_dir():
        msg = f"--out {target} is a folder; give a file name such as {target / 'report.pdf'}"
        raise ValidationError(msg)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:  # pragma: no cover - playwright is a pinned dependency
        msg = f"cannot make a PDF: python playwright is not importable ({exc})"
        raise ValidationError(msg) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ctxrisk-pdf-"))
    try:
        page_file = work / "report.html"
        page_file.write_text(html, encoding="utf-8")
        pdf_tmp = work / "report.pdf"
        # in a thread of its own: Playwright's sync API refuses a thread that already runs an event loop
        # (a caller that drives a browser itself, such as a test session)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(_print, exe, page_file, pdf_tmp, work / "profile", title=title).result()
        atomic_write_bytes(target, pdf_tmp.read_bytes())  # owner-only, renamed over ``target``
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("wrote %s (%s bytes)", target, f"{target.stat().st_size:,}")
    return target


def _print(exe: Path, page_file: Path, pdf: Path, profile: Path, *, title: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(exe), headless=True, args=_ARGS, java_script_enabled=False
        )
        try:
            page = context.new_page()
            page.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith(("file:", "data:", "about:"))
                    else route.abort("blockedbyclient")
                ),
            )
            page.goto(page_file.as_uri(), wait_until="load")
            page.emulate_media(media="print")
            page.pdf(
                path=str(pdf),
                format="A4",
                print_background=True,
                prefer_css_page_size=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=_FOOTER.format(title=esc(title)),
                margin={"top": "15mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
            )
        finally:
            context.close()
