"""Map furniture of the steering page: heading, attribution, scale, screen and print styles, keyboard order."""

from __future__ import annotations

import html as html_lib
from collections.abc import Sequence
from datetime import date, datetime

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from ctxrisk.maps.wording import generated_text

__all__ = ["PAGE_CSS", "Furniture", "add_heading"]

#: Screen, phone and A4 print styles of the steering page.
PAGE_CSS = """
<style>
html, body { height: 100%; }
body { display: flex; flex-direction: column; font-family: Arial, Helvetica, sans-serif; color: #222; }
.ctxrisk-header { flex: none; padding: 4px 12px; background: #fff; border-bottom: 1px solid #767676; }
.ctxrisk-header h1 { font-size: 17px; margin: 2px 0; }
.ctxrisk-header p { font-size: 12px; margin: 1px 0 3px; color: #333; }
.folium-map { order: 1; position: relative !important; flex: 1 1 auto; height: auto !important; min-height: 320px; }
.ctxrisk-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
    white-space: nowrap; }
.ctxrisk-badge { background: none; border: none; }
.ctxrisk-badge .ctxrisk-rank { width: 24px; height: 24px; margin: 0 auto; border-radius: 12px;
    background: #252525; color: #fff; font: bold 12px/20px Arial, sans-serif; text-align: center;
    border: 2px solid #fff; box-shadow: 0 0 3px rgba(0, 0, 0, .7); box-sizing: border-box; }
.ctxrisk-dots { display: flex; justify-content: center; gap: 2px; margin-top: 1px; }
.ctxrisk-dot { display: inline-block; width: 8px; height: 8px; border-radius: 4px; border: 1px solid #222;
    flex: none; }
.ctxrisk-badge:focus { outline: 3px solid #0b0c0c; outline-offset: 2px; border-radius: 12px; }
.ctxrisk-filter { border: none; margin: 0; }
.ctxrisk-period label { display: block; font-weight: bold; font-size: 13px; }
.ctxrisk-period input { width: 180px; }
.ctxrisk-period-label { display: block; max-width: 200px; }
.ctxrisk-period-note, .ctxrisk-filter-note { max-width: 200px; margin: 4px 0 0; font-size: 11px; }
.ctxrisk-compact .ctxrisk-period-note { display: none; }
.ctxrisk-badge.ctxrisk-quiet > :not(.ctxrisk-more), .ctxrisk-badge.ctxrisk-quiet::after { opacity: .45; }
.ctxrisk-badge.ctxrisk-stacked { display: none !important; }
.ctxrisk-label.ctxrisk-crowded { visibility: hidden; }
.ctxrisk-print-places { display: none; }
.ctxrisk-more { position: absolute; top: -7px; right: -12px; padding: 0 3px; border: 1px solid #0b0c0c;
    border-radius: 7px; background: #fff; color: #0b0c0c; font: bold 11px/13px Arial, sans-serif; cursor: zoom-in; }
.ctxrisk-sr-more { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
    white-space: nowrap; }
.ctxrisk-badge::after { content: ""; position: absolute; left: 50%; top: 34px; height: 12px;
    border-left: 2px solid #252525; margin-left: -1px; }
.ctxrisk-filter legend { font-weight: bold; font-size: 13px; padding: 0; }
.ctxrisk-filter-row { display: flex; align-items: center; gap: 4px; margin: 2px 0; cursor: pointer; }
.ctxrisk-label { font: 11px/1.2 Arial, sans-serif; color: #222; text-align: center; white-space: nowrap;
    text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; pointer-events: none; }
.ctxrisk-label-la { font-size: 15px; font-weight: bold; letter-spacing: .5px; }
.ctxrisk-label-out { font-style: italic; color: #333; }
.ctxrisk-label-town { font-size: 13px; font-weight: bold; color: #111; }
.ctxrisk-zoom-low .ctxrisk-label-ward, .ctxrisk-label-town { display: none; }
.ctxrisk-zoom-low .ctxrisk-label-town { display: block; }
.ctxrisk-attribution { order: 2; flex: none; font-size: 11px; padding: 2px 12px; border-top: 1px solid #767676;
    background: #fff; }
.ctxrisk-info { font-size: 12px; }
.ctxrisk-info summary { cursor: pointer; font-weight: bold; }
.ctxrisk-info p { margin: 2px 0; max-width: 70em; }
.ctxrisk-dots { flex-wrap: wrap; max-width: 42px; margin-left: auto; margin-right: auto; }
.leaflet-control-layers { font: 12px/1.4 Arial, Helvetica, sans-serif; max-height: 60vh; overflow: auto; }
.leaflet-control-layers-base:not(:empty)::before { content: 'Period'; display: block; font-weight: bold; }
.leaflet-container a { color: #0b57a0; }
@media (max-width: 640px) {
    .ctxrisk-control, .leaflet-control-layers { max-width: 60vw; max-height: 40vh; overflow: auto;
        font-size: 11px; }
    .ctxrisk-header h1 { font-size: 15px; }
    .ctxrisk-attribution { font-size: 10px; }
}
.ctxrisk-compact .ctxrisk-control:not(.ctxrisk-open):not(.ctxrisk-period) > :not(h4):not(legend) {
    display: none; }
.ctxrisk-compact .ctxrisk-control h4, .ctxrisk-compact .ctxrisk-filter legend { cursor: pointer; margin: 0; }
.ctxrisk-compact .ctxrisk-control:not(.ctxrisk-open) h4::after,
.ctxrisk-compact .ctxrisk-filter:not(.ctxrisk-open) legend::after { content: " +"; }
@media print {
    @page { size: A4 landscape; margin: 8mm; }
    html, body { height: auto; }
    .folium-map { width: 277mm !important; height: 140mm !important; }
    .leaflet-control-layers, .leaflet-control-zoom, .ctxrisk-filter input, .ctxrisk-period input,
    .leaflet-popup-pane, .leaflet-tooltip-pane, .ctxrisk-info summary { display: none !important; }
    .ctxrisk-info p { display: inline; margin-right: .6em; font-size: 10px; }
    .ctxrisk-header p.ctxrisk-print-places { display: block; font-size: 9px; margin: 1px 0; }
    .ctxrisk-control { box-shadow: none; border: 1px solid #767676; }
    * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style>
"""


def add_heading(
    fmap: folium.Map,
    *,
    title: str,
    area: str,
    period: str,
    generated: date | datetime,
    notes: Sequence[str] = (),
    attribution: str = "",
    shown: str = "",
) -> str:
    """Put the ``<h1>`` heading, period, date and notes above the map and the attribution below it.

    The notes sit in a ``<details>`` "About this map" (opened for printing) so that they do not cover the
    map. Every text is escaped. The heading names the title, the area and the period ``shown`` first.
    Returns the heading text (for the page's ``<title>``).
    """
    heading = f"{title}: {area}" if area else title
    h1 = html_lib.escape(heading)
    if shown:  # the period slider rewrites the period shown (class ctxrisk-shown), so a print names it
        h1 += f', <span class="ctxrisk-shown">{html_lib.escape(shown)}</span>'
        heading += f", {shown}"
    about = "".join(f"<p>{html_lib.escape(line)}</p>" for line in notes)
    html = (
        f'<header class="ctxrisk-header"><h1>{h1}</h1>'
        f"<p>{html_lib.escape(period)} Generated {html_lib.escape(generated_text(generated))}.</p>"
        + (f'<details class="ctxrisk-info"><summary>About this map</summary>{about}</details>' if about else "")
        + "</header>"
    )
    root = fmap.get_root()
    root.html.add_child(Element(html), name="ctxrisk_heading", index=0)
    if attribution:
        footer = f'<footer class="ctxrisk-attribution">{html_lib.escape(attribution)}</footer>'
        root.html.add_child(Element(footer), name="ctxrisk_attribution")
    root.header.add_child(Element(PAGE_CSS), name="ctxrisk_page_css")
    return heading


class Furniture(MacroElement):
    """Keyboard order (controls, then places; shapes never), ward labels hidden when zoomed out, print fit.

    Leaflet puts its controls after the map's panes, and the shapes' pane before the badges', so Tab would
    go through every outline before reaching a place; the control corner is moved in front of the panes and
    the badges' pane in front of the shapes' (drawing order is set by z-index, so nothing moves on
    screen), and outlines and cells are taken out of the Tab order (their content is in the legends and
    the places' pop-ups).
    On a phone (640 px wide or less) the panels fold to their headings and the map is fitted to ``bounds``
    in the band left between the top and the bottom panels (when that band is at least ``min_band`` px high),
    so no panel covers the analysed area when the page opens.
    Before printing (and when print media are emulated) the map is resized to the A4 frame and fitted to
    ``bounds``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var box = map.getContainer();
            box.insertBefore(map._controlContainer, box.firstChild);
            var panes = map.getPane("mapPane");
            panes.insertBefore(map.getPane("markerPane"), panes.firstChild);
            function untab() {
                box.querySelectorAll("path.leaflet-interactive").forEach(function (p) {
                    p.setAttribute("tabindex", "-1");
                    p.setAttribute("focusable", "false");
                });
            }
            map.on("layeradd", function () { window.setTimeout(untab, 0); });
            untab();
            box.setAttribute("aria-label", {{ this.label|tojson }});
            var bounds = {{ this.bounds|tojson }};
            function zoomClass() { box.classList.toggle("ctxrisk-zoom-low", map.getZoom() < {{ this.label_zoom }}); }
            map.on("zoomend", zoomClass);
            zoomClass();
            // on a phone the panels fold to their headings, and a tap (or Enter) on a heading opens one
            var phone = window.matchMedia("(max-width: 640px)");
            function headings() {
                box.querySelectorAll(".ctxrisk-control h4, .ctxrisk-filter legend").forEach(function (h) {
                    if (phone.matches) { h.setAttribute("tabindex", "0"); h.setAttribute("role", "button"); }
                    else { h.removeAttribute("tabindex"); h.removeAttribute("role"); }
                });
            }
            // with the panels folded, fit the analysed area into the band between the top and bottom panels
            function fitBetweenPanels() {
                if (map._animatingZoom) { map.once("zoomend", fitBetweenPanels); return; }  // after the opening fit
                var m = box.getBoundingClientRect(), top = 0, bottom = 0;
                box.querySelectorAll(".leaflet-top .leaflet-control").forEach(function (c) {
                    var r = c.getBoundingClientRect();
                    if (r.height) { top = Math.max(top, r.bottom - m.top); }
                });
                box.querySelectorAll(".leaflet-bottom .leaflet-control").forEach(function (c) {
                    var r = c.getBoundingClientRect();
                    if (r.height) { bottom = Math.max(bottom, m.bottom - r.top); }
                });
                if (m.height - top - bottom < {{ this.min_band }}) { return; }  // no room: keep the plain fit
                map.invalidateSize(false);
                map.fitBounds(bounds, {paddingTopLeft: [6, top + 6], paddingBottomRight: [6, bottom + 6],
                                       animate: false});
            }
            function compact() {
                box.classList.toggle("ctxrisk-compact", phone.matches);
                headings();
                var layers = box.querySelector(".leaflet-control-layers");
                if (layers && phone.matches) { layers.classList.remove("leaflet-control-layers-expanded"); }
                if (phone.matches) { fitBetweenPanels(); }
            }
            function toggle(e) {
                var h = e.target.closest(".ctxrisk-control h4, .ctxrisk-filter legend");
                if (!h || !box.classList.contains("ctxrisk-compact")) { return; }
                if (e.type === "keydown" && e.key !== "Enter" && e.key !== " ") { return; }
                e.preventDefault();
                h.closest(".ctxrisk-control").classList.toggle("ctxrisk-open");
            }
            box.addEventListener("click", toggle);
            box.addEventListener("keydown", toggle);
            map.on("click", function () {
                var layers = box.querySelector(".leaflet-control-layers");
                if (layers && phone.matches) { layers.classList.remove("leaflet-control-layers-expanded"); }
            });
            if (phone.addEventListener) { phone.addEventListener("change", compact); }
            map.on("overlayadd overlayremove", function () { window.setTimeout(headings, 0); });
            window.setTimeout(compact, 0);
            function fit() {
                document.querySelectorAll("details.ctxrisk-info").forEach(function (d) {
                    if (media.matches) { d.dataset.wasOpen = d.open ? "1" : ""; d.open = true; }
                    else if (d.dataset.wasOpen !== undefined) { d.open = d.dataset.wasOpen === "1"; }
                });
                map.invalidateSize(false);
                map.fitBounds(bounds, {animate: false});
            }
            var media = window.matchMedia("print");
            if (media.addEventListener) { media.addEventListener("change", fit); }
            window.addEventListener("beforeprint", fit);
            window.addEventListener("afterprint", fit);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, *, bounds: Sequence[Sequence[float]], label: str, label_zoom: int = 12, min_band: int = 120
    ) -> None:
        super().__init__()
        self._name = "CtxriskFurniture"
        self.bounds = [[float(v) for v in corner] for corner in bounds]
        self.label = label
        self.label_zoom = int(label_zoom)
        self.min_band = int(min_band)
