"""The period choice of the steering map: a slider over the periods that switches every layer it can.

Choosing a period shows that period's Gi* hot spot layer (overall, or per ticked theme through
:class:`ctxrisk.maps.steering_themes.ThemeHotspots`), and renumbers and fades the places of concern by their
events in that period (:func:`place_states`). Emerging hot spots are a trend over every month analysed, so
they cannot change with the period: the control says so in a sentence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import folium
from branca.element import MacroElement
from jinja2 import Template

from ctxrisk.maps.disclosure import suppress_counts

__all__ = ["PeriodSlider", "place_states"]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def place_states(
    units: Sequence[str],
    ranks: Sequence[int],
    periods: Sequence[str],
    hot: Sequence[Sequence[bool]],
    counts: Mapping[str, Mapping[str, int]] | None,
    *,
    threshold: int,
    withheld: Sequence[bool] = (),
) -> list[list[dict[str, object]]]:
    """What each place shows in each period: its number on the badge, whether it is faded, and a sentence.

    Parameters
    ----------
    units : sequence of str
        Each place's unit (H3 cell or area code), in badge order.
    ranks : sequence of int
        Each place's rank over the whole run (1 = most concern).
    periods : sequence of str
        Period labels, in selector order.
    hot : sequence of sequence of bool
        Per place, per period: whether its unit is a Gi* hot spot then.
    counts : mapping of period label -> mapping of unit -> int, or None
        Each place's events in each period (from the marts). A period missing here, or None, keeps the
        whole-run numbers and fades the places that are not hot spots then.
    threshold : int
        Suppression threshold: a place with fewer events in a period is faded, unnumbered and told as
        "fewer than <threshold> events"; the others are numbered by their events (most first, ties by
        whole-run rank), so no count under the threshold can be read from a number or an order.
    withheld : sequence of bool
        Places whose count is withheld (secondary suppression): their count is never stated.

    Returns
    -------
    list (per place) of list (per period) of dict
        ``n`` (badge text), ``quiet`` (faded), ``text`` (appended to the spoken text).
    """
    withheld = list(withheld) or [False] * len(units)
    out: list[list[dict[str, object]]] = [[] for _ in units]
    for j, label in enumerate(periods):
        of_period = None if counts is None else counts.get(label)
        if of_period is None:
            for i, rank in enumerate(ranks):
                word = "A hot spot in " if hot[i][j] else "Not a hot spot in "
                out[i].append({"n": str(rank), "quiet": not hot[i][j], "text": f"{word}{label}."})
            continue
        n = [int(of_period.get(str(u), 0)) for u in units]
        busy = sorted((i for i in range(len(units)) if n[i] >= threshold), key=lambda i: (-n[i], ranks[i]))
        order = {i: k + 1 for k, i in enumerate(busy)}
        for i in range(len(units)):
            spot = "a hot spot" if hot[i][j] else "not a hot spot"
            if withheld[i]:
                text = f"In {label}: events withheld; {spot}."
            elif i in order:
                shown = suppress_counts([n[i]], threshold=threshold).iloc[0]
                text = f"In {label}: {_ordinal(order[i])} of the places by events ({shown} events); {spot}."
            else:
                text = f"In {label}: fewer than {threshold} events; {spot}."
            out[i].append({"n": str(order[i]) if i in order else "", "quiet": i not in order, "text": text})
    return out


class PeriodSlider(MacroElement):
    """A slider stepping through the periods, kept in step with the layer control's "Period" buttons.

    Choosing a period shows that period's Gi* hot spot layer, sets each place's badge number, fading and
    spoken text to its state in that period (:func:`place_states`), and tells the page's other controls
    (the map fires ``ctxrisk:period`` with the period's ``index``).

    Parameters
    ----------
    periods : sequence of (folium layer, label)
        The base layers, one per period, in selector order.
    places : sequence of (folium.Marker, list of dict)
        Each place's badge and its state per period (:func:`place_states`).
    note : str
        A sentence shown under the slider (e.g. what the period does not change); set as text.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var periods = [{% for layer, label in this.periods %}
                [{{ layer.get_name() }}, {{ label|tojson }}]{{ "," if not loop.last }}{% endfor %}];
            var places = [{% for marker, states in this.places %}
                [{{ marker.get_name() }}, {{ this.json(states) }}]{{ "," if not loop.last }}{% endfor %}];
            var note = {{ this.json(this.note) }};
            var current = 0;
            var control = L.control({position: "topleft"});
            var slider, output;
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "ctxrisk-control ctxrisk-period");
                var label = L.DomUtil.create("label", "", div);
                label.htmlFor = "ctxrisk-period-slider";
                label.textContent = "Period shown";
                slider = L.DomUtil.create("input", "", div);
                slider.type = "range"; slider.min = 0; slider.max = periods.length - 1; slider.step = 1;
                slider.value = 0; slider.id = "ctxrisk-period-slider";
                output = L.DomUtil.create("output", "ctxrisk-period-label", div);
                output.htmlFor = "ctxrisk-period-slider";
                output.setAttribute("aria-live", "polite");
                if (note) {
                    var p = L.DomUtil.create("p", "ctxrisk-period-note", div);
                    p.textContent = note;
                }
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.on(slider, "input change", function () { show(+slider.value); });
                return div;
            };
            control.addTo(map);
            function mark(i) {
                current = i;
                slider.value = i;
                slider.setAttribute("aria-valuetext", periods[i][1]);
                output.textContent = periods[i][1];
                // the heading, the page title and the map's label name the period shown (and so does a print)
                document.querySelectorAll(".ctxrisk-shown").forEach(function (e) {
                    if (!e.dataset.first) { e.dataset.first = e.textContent; }
                    var box = map.getContainer(), was = e.textContent, now = periods[i][1];
                    document.title = document.title.split(was).join(now);
                    box.setAttribute("aria-label", (box.getAttribute("aria-label") || "").split(was).join(now));
                    e.textContent = now;
                });
                places.forEach(function (p) {
                    var el = p[0].getElement();
                    if (!el) { return; }
                    var s = p[1][i];
                    el.classList.toggle("ctxrisk-quiet", s.quiet);
                    var rank = el.querySelector(".ctxrisk-rank");
                    if (rank) { rank.textContent = s.n || "\\u2013"; }
                    var tip = p[0].getTooltip();  // the tooltip numbers the place as its badge does
                    if (tip) {
                        if (p[0].ctxriskName === undefined) {
                            var was = document.createElement("div");
                            was.innerHTML = String(tip.getContent());  // the page's own escaped tooltip
                            p[0].ctxriskName = was.textContent.trim().replace(/^\\d+\\. /, "");
                        }
                        var now = document.createElement("div");
                        now.textContent = (s.n ? s.n + ". " : "") + p[0].ctxriskName;
                        p[0].setTooltipContent(now);
                        if (el.title) { el.title = (s.n ? "Place " + s.n + ": " : "") + p[0].ctxriskName; }
                    }
                    var sr = el.querySelector(".ctxrisk-sr");
                    if (sr) {
                        if (!sr.dataset.base) { sr.dataset.base = sr.textContent; }
                        sr.textContent = sr.dataset.base + " " + s.text;
                    }
                });
                map.fire("ctxrisk:period", {index: i});
            }
            function show(i) {
                periods.forEach(function (p, j) { if (j !== i && map.hasLayer(p[0])) { map.removeLayer(p[0]); } });
                if (!map.hasLayer(periods[i][0])) { map.addLayer(periods[i][0]); }
                mark(i);
            }
            map.on("baselayerchange", function (e) {
                var i = periods.findIndex(function (p) { return p[0] === e.layer; });
                if (i >= 0) { mark(i); }
            });
            map.on("overlayadd", function () { mark(current); });
            mark(0);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        periods: Sequence[tuple[folium.map.Layer, str]],
        places: Sequence[tuple[folium.Marker, Sequence[dict[str, object]]]],
        *,
        note: str = "",
    ) -> None:
        super().__init__()
        self._name = "CtxriskPeriodSlider"
        self.periods = [(layer, str(label)) for layer, label in periods]
        self.places = [(marker, [dict(s) for s in states]) for marker, states in places]
        self.note = str(note)

    @staticmethod
    def json(value: object) -> str:
        # sentences may hold data-derived labels: <, > and & as JSON escapes, so no text closes the <script>
        text = json.dumps(value, ensure_ascii=False)
        return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
