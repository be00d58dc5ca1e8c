"""The period choice of the steering map: a slider over the periods that switches the hot spots and the places."""

from __future__ import annotations

from collections.abc import Sequence

import folium
from branca.element import MacroElement
from jinja2 import Template

__all__ = ["PeriodSlider"]


class PeriodSlider(MacroElement):
    """A slider stepping through the periods, kept in step with the layer control's "Period" buttons.

    Choosing a period shows that period's Gi* hot spot layer and marks each place by whether its cell is a
    hot spot in that period: a place that is not is drawn faded and its spoken text says so.

    Parameters
    ----------
    periods : sequence of (folium layer, label)
        The base layers, one per period, in selector order.
    places : sequence of (folium.Marker, sequence of bool)
        Each place's badge and, per period, whether its cell is a hot spot then.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var periods = [{% for layer, label in this.periods %}
                [{{ layer.get_name() }}, {{ label|tojson }}]{{ "," if not loop.last }}{% endfor %}];
            var places = [{% for marker, hot in this.places %}
                [{{ marker.get_name() }}, {{ hot|tojson }}]{{ "," if not loop.last }}{% endfor %}];
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
                places.forEach(function (p) {
                    var el = p[0].getElement();
                    if (!el) { return; }
                    el.classList.toggle("ctxrisk-quiet", !p[1][i]);
                    var sr = el.querySelector(".ctxrisk-sr");
                    if (sr) {
                        if (!sr.dataset.base) { sr.dataset.base = sr.textContent; }
                        sr.textContent = sr.dataset.base + (p[1][i] ? " A hot spot in " : " Not a hot spot in ")
                            + periods[i][1] + ".";
                    }
                });
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
        places: Sequence[tuple[folium.Marker, Sequence[bool]]],
    ) -> None:
        super().__init__()
        self._name = "CtxriskPeriodSlider"
        self.periods = [(layer, str(label)) for layer, label in periods]
        self.places = [(marker, [bool(h) for h in hot]) for marker, hot in places]
