"""What would overlap at the zoom shown: one badge stands for nearby places ("+n"), crowded labels are hidden."""

from __future__ import annotations

import json
from collections.abc import Sequence

import folium
from branca.element import MacroElement
from jinja2 import Template

__all__ = ["STACK_RADIUS_PX", "StackedPlaces"]

#: Badges whose centres lie closer than this (screen pixels) are stacked: a badge is 24 px wide.
STACK_RADIUS_PX = 28


class StackedPlaces(MacroElement):
    """Stack the badges that overlap at the zoom shown under the first of them, which shows "+n".

    At the zoom that fits a district, places a few hundred metres apart were drawn on top of each other:
    on the bundled sample 13 of the 20 numbered badges could not be read or clicked, and the badges hid
    the hot spot cells under them. Now, after every zoom, theme or period change, the badges are taken in
    order (not faded first, then by the number they show, then by rank of concern) and each badge within
    :data:`STACK_RADIUS_PX` of one already kept is hidden (and taken out of the keyboard order); the kept
    badge shows "+n" and its spoken text names the places it stands for. Clicking "+n" zooms in until they
    part. The number of places stacked is shown, never a count of events. A printed map cannot be zoomed, so
    the heading carries, for print only, the places shown listed by their badge numbers.

    Then the map's place-name labels are taken in order (the district analysed, towns, wards, the districts
    "not analysed" around) and each one but a district's name that would overlap a badge or a label already
    shown is hidden until the next zoom: on the Merseyside map "Warrington: not analysed" ran into
    "Trafford: not analysed", and on a phone the town names ran into each other and into the badges.

    Parameters
    ----------
    places : sequence of (folium.Marker, int, str)
        Each place's badge, its rank of concern and its display name (set as text).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var places = [{% for m, rank, name in this.places %}
                [{{ m.get_name() }}, {{ rank }}, {{ this.json(name) }}]{{ "," if not loop.last }}{% endfor %}];
            var radius = {{ this.radius }};
            function number(el) {
                var n = parseInt((el.querySelector(".ctxrisk-rank") || {}).textContent, 10);
                return isNaN(n) ? Infinity : n;
            }
            function update() {
                var shown = [];
                places.forEach(function (p) {
                    var el = p[0].getElement();
                    if (!el) { return; }
                    el.classList.remove("ctxrisk-stacked");
                    el.querySelectorAll(".ctxrisk-more, .ctxrisk-sr-more").forEach(function (e) { e.remove(); });
                    if (!map.hasLayer(p[0]) || p[0].options.ctxriskHidden || el.style.display === "none") { return; }
                    shown.push({marker: p[0], el: el, rank: p[1], name: p[2], n: number(el),
                                quiet: el.classList.contains("ctxrisk-quiet") ? 1 : 0,
                                pt: map.latLngToLayerPoint(p[0].getLatLng())});
                });
                shown.sort(function (a, b) { return (a.quiet - b.quiet) || (a.n - b.n) || (a.rank - b.rank); });
                var kept = [];
                shown.forEach(function (s) {
                    var host = kept.find(function (k) { return k.pt.distanceTo(s.pt) < radius; });
                    if (host) { host.more.push(s); s.el.classList.add("ctxrisk-stacked"); }
                    else { s.more = []; kept.push(s); }
                });
                kept.forEach(function (k) {
                    if (!k.more.length) { return; }
                    var chip = L.DomUtil.create("span", "ctxrisk-more", k.el);
                    chip.textContent = "+" + k.more.length;
                    chip.setAttribute("aria-hidden", "true");
                    var sr = L.DomUtil.create("span", "ctxrisk-sr-more", k.el);
                    sr.textContent = " With " + k.more.length + " more place" + (k.more.length > 1 ? "s" : "") +
                        " here: " + k.more.map(function (s) {
                            return (s.n === Infinity ? "" : s.n + ". ") + s.name;
                        }).join("; ") + ". Zoom in to see each.";
                    var group = [k].concat(k.more).map(function (s) { return s.marker.getLatLng(); });
                    L.DomEvent.on(chip, "click", function (e) {
                        L.DomEvent.stop(e);
                        map.fitBounds(L.latLngBounds(group), {maxZoom: 18, padding: [60, 60]});
                    });
                });
            }
            var kinds = ["ctxrisk-label-la", "ctxrisk-label-town", "ctxrisk-label-ward", "ctxrisk-label-out"];
            function kind(el) {
                var k = kinds.findIndex(function (c) { return el.classList.contains(c); });
                return k < 0 ? kinds.length : k;
            }
            function near(a, b) {
                return a.left < b.right + 2 && b.left < a.right + 2 && a.top < b.bottom + 2 && b.top < a.bottom + 2;
            }
            function declutter() {
                var box = map.getContainer();
                var taken = Array.from(box.querySelectorAll(".ctxrisk-badge")).filter(function (e) {
                    return e.offsetParent !== null;
                }).map(function (e) { return e.getBoundingClientRect(); });
                var labels = Array.from(box.querySelectorAll(".ctxrisk-label"));
                labels.forEach(function (e) { e.classList.remove("ctxrisk-crowded"); });
                labels.filter(function (e) { return e.offsetParent !== null; }).sort(function (a, b) {
                    return kind(a) - kind(b);
                }).forEach(function (e) {
                    var range = document.createRange();
                    range.selectNodeContents(e);
                    var r = range.getBoundingClientRect();
                    if (!r.width) { return; }
                    // the districts' names always show (a badge may cover part of one); the others give way
                    var crowded = kind(e) > 0 && taken.some(function (t) { return near(r, t); });
                    if (crowded) { e.classList.add("ctxrisk-crowded"); }
                    else { taken.push(r); }
                });
            }
            // a printed map cannot be zoomed: under it, the places shown are listed by their badge numbers
            function printList() {
                var header = document.querySelector(".ctxrisk-header");
                if (!header || !places.length) { return; }
                var list = header.querySelector(".ctxrisk-print-places");
                if (!list) { list = L.DomUtil.create("p", "ctxrisk-print-places", header); }
                var shown = places.filter(function (p) {
                    var el = p[0].getElement();
                    return el && map.hasLayer(p[0]) && !p[0].options.ctxriskHidden && el.style.display !== "none";
                }).map(function (p) { return {n: number(p[0].getElement()), rank: p[1], name: p[2]}; });
                shown.sort(function (a, b) { return (a.n - b.n) || (a.rank - b.rank); });
                list.textContent = "Places of concern: " + shown.map(function (s) {
                    return (s.n === Infinity ? "\u2013 " : s.n + ". ") + s.name;
                }).join("; ") + ".";
            }
            function both() { update(); printList(); setTimeout(declutter, 0); }
            map.on("zoomend viewreset overlayadd overlayremove ctxrisk:themes ctxrisk:period", both);
            map.whenReady(function () { setTimeout(both, 0); });
            both();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, places: Sequence[tuple[folium.Marker, int, str]], *, radius: int = STACK_RADIUS_PX) -> None:
        super().__init__()
        self._name = "CtxriskStackedPlaces"
        self.places = [(marker, int(rank), str(name)) for marker, rank, name in places]
        self.radius = int(radius)

    @staticmethod
    def json(value: object) -> str:
        # names come from data: <, > and & as JSON escapes, so no text closes the <script>; set as textContent
        text = json.dumps(value, ensure_ascii=False)
        return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
