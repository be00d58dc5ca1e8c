"""HTML pieces of the outcome report: escaping, tables that wrap on a phone, the style sheet and the page policy."""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["CSP", "CSS", "NO_CHART", "esc", "objectives", "pct_text", "table"]

#: Content-Security-Policy of the report: no script at all, styles and images only from the page itself.
CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)

CSS = """
:root { --ink: #1d1d1f; --muted: #595959; --rule: #d9d9d9; --band: #f4f6f8; --accent: #0b4f8a; --warn: #8a4b00; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 60rem; padding: 1.5rem 1.25rem 3rem; line-height: 1.45; font-size: 15px;
       background: #fff; overflow-wrap: break-word; }
header { border-bottom: 4px solid var(--accent); margin-bottom: 1rem; padding-bottom: .6rem; }
h1 { font-size: 1.55rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .4rem; border-bottom: 1px solid var(--rule); padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
p.meta { color: var(--muted); margin: .1rem 0; font-size: .9rem; }
.summary { background: var(--band); border-left: 4px solid var(--accent); padding: .6rem 1rem; }
.summary li { margin: .2rem 0; }
.warning { border-left: 4px solid var(--warn); background: #fff7ec; padding: .4rem .8rem; margin: .4rem 0; }
.objective { display: inline-block; font-size: .72rem; font-weight: 600; letter-spacing: .03em;
             text-transform: uppercase; background: var(--accent); color: #fff; border-radius: 3px;
             padding: .05rem .4rem; margin-right: .3rem; vertical-align: middle; }
table { border-collapse: collapse; margin: .4rem 0 .8rem; font-size: .9rem; max-width: 100%; }
caption { text-align: left; font-weight: 600; padding-bottom: .25rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .25rem .6rem; text-align: right; }
th.t, td.t { text-align: left; }
thead th { background: var(--band); }
td.sup, td.nodata { color: var(--muted); font-style: italic; }
.up::before { content: "\\25B2\\00A0"; }
.down::before { content: "\\25BC\\00A0"; }
.same::before { content: "\\25AC\\00A0"; }
.note { color: var(--muted); font-size: .85rem; }
svg.chart { max-width: 100%; height: auto; display: block; margin: .3rem 0 .8rem; }
section { break-inside: avoid-page; }
footer { margin-top: 2rem; border-top: 1px solid var(--rule); padding-top: .5rem; color: var(--muted);
         font-size: .8rem; }
@media screen and (max-width: 40rem) {
  body { padding: 1rem .75rem 2rem; }
  table, thead, tbody, tr, th, td, caption { display: block; width: 100%; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  tr { border-bottom: 2px solid var(--rule); padding: .3rem 0; }
  tbody th, td { border: none; text-align: left; padding: .1rem .3rem; }
  td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; color: var(--ink); font-style: normal; }
  .chart-frame { overflow-x: auto; }
  svg.chart { max-width: none; }
}
@media print {
  @page { size: A4; margin: 15mm 15mm 18mm; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid-page; }
  table, svg.chart, .summary { break-inside: avoid-page; }
  table { font-size: 8.5pt; }
  th, td { padding: .15rem .35rem; }
  .summary { background: none; border: 1px solid var(--rule); }
  .objective { background: none; color: var(--ink); border: 1px solid var(--ink); }
}
"""


#: Said instead of a chart with nothing to draw (every figure small, withheld or without data).
NO_CHART = (
    '<p class="note">No chart: every figure here is small, withheld or has no data for these periods '
    "(see the table).</p>"
)


def esc(text: object) -> str:
    """``text`` as HTML text or attribute value: ``& < > " '`` escaped."""
    return html.escape(str(text), quote=True)


def pct_text(value: float | None) -> str:
    """``"75%"``, or ``"–"`` when the share is not shown."""
    return "–" if value is None else f"{value:.0f}%"


def objectives(*names: str) -> str:
    """Badges naming the strategy objectives (Prevent, Prepare, Protect, Pursue) a section serves."""
    return "".join(f'<span class="objective">{esc(n)}</span>' for n in names)


def table(
    caption: str,
    header: Sequence[str],
    rows: Sequence[Sequence[tuple[str, str]]],
    *,
    note: str = "",
    text_cols: int = 1,
) -> str:
    """An HTML table; each cell is ``(text, css class)``; the first ``text_cols`` columns are left-aligned labels.

    Every text (caption, headers, cells, note) is escaped. Each data cell carries its column's header as
    ``data-label``, so on a narrow screen a row becomes a block of labelled lines instead of running off
    the page.
    """
    left = ' class="t"'
    head = "".join(f'<th scope="col"{left if i < text_cols else ""}>{esc(h)}</th>' for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = []
        for i, (text, cls) in enumerate(row):
            classes = " ".join(c for c in (cls, "t" if i < text_cols else "") if c)
            attr = f' class="{classes}"' if classes else ""
            if i == 0:
                cells.append(f'<th scope="row"{attr}>{esc(text)}</th>')
            else:
                label = f' data-label="{esc(header[i])}"' if i < len(header) else ""
                cells.append(f"<td{attr}{label}>{esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    foot = f'<p class="note">{esc(note)}</p>' if note else ""
    return (
        f"<table><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{foot}"
    )
