"""Every page and every CSV export built from one warehouse whose every text column holds planted markup,
URLs and formulas: nothing runs, nothing is fetched, no cell is a formula (issue 24, "How to keep it true").

The warehouse is the bundled sample partnership put through a real ``ctxrisk run`` from drop folders whose file
names, categories, location types, sources, referral outcomes, boundary names and codes, police.uk place names,
crime types and outcomes hold the payloads below, with person IDs starting with ``-``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from support.browser import open_page, require_chromium
from typer.testing import CliRunner

from ctxrisk.cli.main import app
from ctxrisk.pipelines.spreadsheet import FORMULA_TRIGGERS

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data_samples"
IMG = '"><img src=x onerror=alert(1)>'
SCRIPT = "<script>alert(1)</script>"
JS_URL = "javascript:alert(1)"
EVIL_URL = "https://evil.example/x.js"
FORMULA = '=HYPERLINK("http://x")'
PAYLOADS = (FORMULA, IMG, SCRIPT, JS_URL, EVIL_URL)
# Person IDs allow letters, digits and _.:- only: a leading "-" is the formula trigger they can carry.
DASHED = {f"P{n:06d}": f"-P{n:06d}" for n in range(1, 2001, 7)}
# Drop-folder file names (no "/" in a file name).
FILE_NAMES = {
    "incidents": f"{IMG}.csv",
    "persons": "=HYPERLINK(1).csv",
    "intelligence": f"{JS_URL}.csv",
    "referrals": "<script>alert(1)<script>.csv",
    "missing": "https:evil.example x.js.csv",
}
KINDS = ("persons", "incidents", "involvements", "missing", "associations", "intelligence", "screenings", "referrals")
TEXT_COLUMNS = {
    "incidents": ("category", "location_type", "source"),
    "intelligence": ("category",),
    "referrals": ("outcome",),
}
ID_COLUMNS = ("person_id", "person_a", "person_b")
LIST_COLUMNS = ("found_with", "persons")
EXTENT = (-2.62, 53.02, -1.99, 53.40)  # the sample partnership's events, with a margin


def _plant(values: pd.Series) -> pd.Series:
    """The most common values become the bare payloads; the rest carry a payload before their own text."""
    order = values.value_counts().index.tolist()
    mapping = {
        v: PAYLOADS[i] if i < len(PAYLOADS) else f"{PAYLOADS[i % len(PAYLOADS)]} {v}" for i, v in enumerate(order)
    }
    return values.map(mapping).where(values.notna(), values)


def _relabel_ids(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ID_COLUMNS:
        if column in frame:
            frame[column] = frame[column].map(lambda v: DASHED.get(v, v))
    for column in LIST_COLUMNS:
        if column in frame:
            frame[column] = frame[column].map(
                lambda v: v if not isinstance(v, str) else ";".join(DASHED.get(p, p) for p in v.split(";"))
            )
    return frame


def _grid(level: str, prefix: str, cols: int, rows: int, *, decile: bool = False) -> dict:
    west, south, east, north = EXTENT
    features = []
    for i in range(cols):
        for j in range(rows):
            x0, x1 = west + (east - west) * i / cols, west + (east - west) * (i + 1) / cols
            y0, y1 = south + (north - south) * j / rows, south + (north - south) * (j + 1) / rows
            n = i * rows + j
            code, name = f"{PAYLOADS[n % len(PAYLOADS)]}{n}", f"{PAYLOADS[(n + 1) % len(PAYLOADS)]}{n}"
            props = {f"{prefix}cd": code, f"{prefix}nm": name}
            if decile:
                props["imd_decile"] = 1 + n % 10
            ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
            features.append(
                {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}
            )
    return {"type": "FeatureCollection", "name": level, "features": features}


def _street(path: Path, incidents: pd.DataFrame) -> None:
    """A police.uk street file at the sample's places, every text field planted."""
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
        "Last outcome category,Context"
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header.split(","))
    for n, row in enumerate(incidents.head(60).itertuples()):
        p = PAYLOADS[n % len(PAYLOADS)]
        month = str(row.occurred_at)[:7]
        writer.writerow(
            [f"c{n:063d}", month, p, p, row.longitude, row.latitude, f"On or near {p}", f"{p}{n}", p, p, p, p]
        )
    path.write_text(out.getvalue(), encoding="utf-8")


def _cli(*args: str):
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Planted drop folders and boundaries, put through ``ctxrisk run``; returns the folder with ctxrisk.toml."""
    root = tmp_path_factory.mktemp("planted-site")
    result = build_site(root)
    assert result.exit_code == 0, result.output
    return root


def build_site(root: Path):
    """Write the planted drop folders, boundaries and ctxrisk.toml under ``root`` and run ``ctxrisk run``."""
    drops = {}
    for kind in KINDS:
        frame = pd.read_csv(SAMPLES / f"{kind}.csv", dtype=str, keep_default_na=False, na_values=[""])
        frame = _relabel_ids(frame)
        for column in TEXT_COLUMNS.get(kind, ()):
            frame[column] = _plant(frame[column])
        folder = root / "drop" / kind
        folder.mkdir(parents=True)
        frame.to_csv(folder / FILE_NAMES.get(kind, f"{kind}.csv"), index=False)
        drops[kind] = f"drop/{kind}"
    street = root / "drop" / "police-uk-street"
    street.mkdir(parents=True)
    _street(street / "2026-05-cheshire-street.csv", pd.read_csv(SAMPLES / "incidents.csv"))
    drops["police-uk-street"] = "drop/police-uk-street"
    levels = {
        "lad": _grid("lad", "lad19", 2, 1),
        "ward": _grid("ward", "wd13", 3, 3),
        "lsoa11": _grid("lsoa11", "lsoa11", 6, 6, decile=True),
    }
    for level, collection in levels.items():
        (root / f"{level}.geojson").write_text(json.dumps(collection), encoding="utf-8")
    lines = ["[paths]", 'warehouse = "wh/ctxrisk.duckdb"', 'output_dir = "out"', "", "[paths.drop_dirs]"]
    lines += [f'"{kind}" = "{folder}"' for kind, folder in drops.items()]
    lines += ["", "[paths.boundaries]"] + [f'{level} = "{level}.geojson"' for level in levels]
    lines += ["", "[hotspots]", 'unit = "h3:9"']
    (root / "ctxrisk.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return _cli("run", "--config", str(root / "ctxrisk.toml"))


# --------------------------------------------------------------------------------------------- in Chromium

# Elements or attributes only planted markup could have made, and whether the page's own script saw a run.
_INJECTED = """() => document.querySelectorAll(
    'img[src="x"], [onerror], [onload], a[href^="javascript:" i], [src*="evil.example"], [href*="evil.example"]'
).length"""
# Open every tooltip and popup of every layer of every Leaflet map in the page, overlays switched on first.
_OPEN_ALL = """() => {
    document.querySelectorAll('.leaflet-control-layers-overlays input[type=checkbox]').forEach(
        (box) => { if (!box.checked) box.click(); });
    const maps = Object.keys(window).filter((k) => /^map_[0-9a-f]{32}$/.test(k)).map((k) => window[k]);
    if (window.intel && window.intel.map) maps.push(window.intel.map);
    let opened = 0, injected = 0;
    const check = () => { injected += document.querySelectorAll('img[src="x"], [onerror], [onload]').length; };
    const texts = [];
    for (const map of maps) map.eachLayer((l) => {
        if (l.getTooltip && l.getTooltip()) {
            l.openTooltip(l.getLatLng ? l.getLatLng() : map.getCenter()); opened++; check();
            const el = l.getTooltip().getElement(); if (el) texts.push(el.innerText); l.closeTooltip();
        }
        if (l.getPopup && l.getPopup()) {
            l.openPopup(); opened++; check();
            const el = l.getPopup().getElement(); if (el) texts.push(el.innerText); l.closePopup();
        }
    });
    return [opened, injected, texts];
}"""


def _assert_inert(report, *, after: str) -> None:
    page = report.page
    page.wait_for_timeout(150)
    assert report.dialogs == [], after
    assert report.requests_external == [], after
    assert report.console_errors == [], after
    assert page.evaluate(_INJECTED) == 0, after


def _open_everything(report) -> list[str]:
    opened, injected, texts = report.page.evaluate(_OPEN_ALL)
    assert injected == 0
    _assert_inert(report, after="tooltips and popups opened")
    return texts if opened else []


@pytest.mark.browser
def test_steering_map_shows_planted_text_as_text(site: Path) -> None:
    require_chromium()
    report = open_page(site / "out" / "maps" / "steering.html")
    try:
        _assert_inert(report, after="load")
        texts = _open_everything(report)
        assert any(IMG in t or SCRIPT in t for t in texts)  # boundary names reached a tooltip, as text
        page = report.page
        for select in page.query_selector_all("select"):  # every period and area the page offers
            for value in select.eval_on_selector_all("option", "els => els.map(e => e.value)"):
                select.select_option(value)
                _open_everything(report)
        for button in page.query_selector_all("button:visible"):
            button.click()
            _assert_inert(report, after="a button")
    finally:
        report.page.close()


@pytest.mark.browser
def test_report_page_shows_planted_text_as_text(site: Path) -> None:
    require_chromium()
    report = open_page(site / "out" / "reports" / "report.html")
    try:
        _assert_inert(report, after="load")
        page = report.page
        assert IMG in page.inner_text("body")  # a planted area name, shown as text
        for element in page.query_selector_all("[title], details > summary, button:visible")[:200]:
            element.hover() if element.is_visible() else None
            if element.evaluate("e => e.tagName") in ("SUMMARY", "BUTTON"):
                element.click()
        _assert_inert(report, after="hover and open")
    finally:
        report.page.close()


def test_report_pdf_has_no_script_nor_planted_link(site: Path, tmp_path: Path) -> None:
    require_chromium()
    out = tmp_path / "report.pdf"
    result = _cli("report", "--format", "pdf", "--out", str(out), "--config", str(site / "ctxrisk.toml"))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    for marker in (b"/JavaScript", b"/JS ", b"/Launch", b"evil.example", b"javascript:"):
        assert marker not in data, marker


def _intel_payload(path: Path) -> str:
    """The explorer's data, gzip-compressed and base64-encoded in ``<script id="intel-data">``."""
    import base64
    import gzip
    import re

    found = re.search(r'<script[^>]*id="intel-data"[^>]*>([^<]*)</script>', path.read_text(encoding="utf-8"))
    assert found is not None
    return gzip.decompress(base64.b64decode(found.group(1).strip())).decode("utf-8")


@pytest.mark.browser
def test_intel_explorer_shows_planted_text_as_text(site: Path, tmp_path: Path) -> None:
    require_chromium()
    out = tmp_path / "intel.html"
    result = _cli("map", "intel", "--out", str(out), "--config", str(site / "ctxrisk.toml"))
    assert result.exit_code == 0, result.output
    report = open_page(out, settle_ms=300)
    page = report.page
    try:
        assert page.get_attribute("body", "data-ready") == "true"
        _assert_inert(report, after="load")
        payload = _intel_payload(out)
        people = [p for p in DASHED.values() if json.dumps(p) in payload][:6]
        assert people  # IDs starting with "-" reached the page
        for person in people:
            page.evaluate(f"window.intel.select({json.dumps(person)})")
            _assert_inert(report, after=f"select {person}")
        groups = page.eval_on_selector_all("#group option", "els => els.map(e => e.value)")
        shown = [page.inner_text("#panel")]
        for group in [g for g in groups if g][:4]:
            page.select_option("#group", group)
            shown += _open_everything(report)
        assert any(IMG in t or EVIL_URL in t for t in shown)  # planted place names reached a tooltip, as text
        page.fill("#search", "-P")
        page.press("#search", "Enter")
        page.evaluate("window.intel.svg()")
        _assert_inert(report, after="groups, places and search")
    finally:
        page.close()


# ------------------------------------------------------------------------------------------- CSV exports

CSV_EXPORTS = {
    "hotspots": ["hotspots"],
    "locations": ["locations", "--no-mart"],
    "graph groups": ["graph", "groups"],
    "graph centrality": ["graph", "centrality"],
    "graph adults-of-concern": ["graph", "adults-of-concern"],
    "graph at-risk-children": ["graph", "at-risk-children"],
    "missing children": ["missing", "children"],
    "missing summary": ["missing", "summary"],
    "mace": ["mace"],
    "mace places": ["mace", "places"],
}


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline=""), strict=True) for cell in row]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _formulas(cells: list[str]) -> list[str]:
    """Cells a spreadsheet would read as a formula: starting with a trigger and not a plain number."""
    return [c for c in cells if c.startswith(FORMULA_TRIGGERS) and not _number(c)]


@pytest.fixture(scope="module")
def exports(site: Path) -> dict[str, str]:
    """Each command's ``--format csv`` output, made once."""
    out = {}
    for name, args in CSV_EXPORTS.items():
        result = _cli(*args, "--format", "csv", "--config", str(site / "ctxrisk.toml"))
        assert result.exit_code == 0, (name, result.output)
        out[name] = result.stdout
    return out


@pytest.mark.parametrize("name", list(CSV_EXPORTS))
def test_every_csv_export_neutralises_formulas(exports: dict[str, str], name: str) -> None:
    cells = _cells(exports[name])
    assert len(cells) > 1, exports[name]
    assert not _formulas(cells)


def test_csv_exports_hold_the_planted_values_quoted(exports: dict[str, str]) -> None:
    """The exports above are not vacuous: planted names and dashed IDs are in them, with their quote."""
    found = "".join(exports.values())
    assert "'-P" in found
    assert "'=HYPERLINK" in found or IMG in found


def test_i2_and_graph_files_neutralise_formulas(site: Path, tmp_path: Path) -> None:
    config = str(site / "ctxrisk.toml")
    result = _cli("graph", "export", str(tmp_path / "i2"), "--to", "i2", "--config", config)
    assert result.exit_code == 0, result.output
    written = sorted((tmp_path / "i2").glob("*.csv"))
    assert written
    cells = [c for path in written for c in _cells(path.read_text(encoding="utf-8"))]
    assert "'-P" in "".join(cells)
    assert not _formulas(cells)
