"""Hot spots per theme on the steering map: a layer per theme and period, switched by the theme filter.

The cells come from ``marts.hotspot_themes`` (each theme's own Gi* run, whole run and per period, computed by
the analytics; the page computes nothing). While every theme is ticked the map shows the overall run; while
some are not, it shows the Gi* cells of each ticked theme for the period shown instead. A theme's cells carry
no event count: the overall cell's count less a theme's would give away the other themes' count.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from ctxrisk.maps.steering_layers import GI_BINS, LayerState, cell_style, esc, feature_collection, gi_outlines
from ctxrisk.pipelines.errors import ValidationError

__all__ = ["ThemeHotspots", "add_theme_hotspots", "check_theme_parts"]


def check_theme_parts(
    parts: Sequence[tuple[str | None, str, gpd.GeoDataFrame]], labels: Sequence[str] | None
) -> list[tuple[int, str, gpd.GeoDataFrame]]:
    """``(period index, theme, significant cells)`` of each ``(period label, theme, cells)``.

    ``labels`` are the selector's period labels (None: the map has one period, and every label must be None).
    """
    out = []
    for label, theme, frame in parts:
        name = f"hot spots of theme {theme!r}" + (f" in period {label!r}" if label is not None else "")
        missing = [c for c in ("unit_id", "z", "bin", "geometry") if c not in frame.columns]
        if missing:
            msg = f"{name} lacks column(s) {missing}; it has {list(frame.columns)}"
            raise ValidationError(msg)
        if labels is None and label is not None:
            msg = f"{name}: the map has no period selector, so the period must be None"
            raise ValidationError(msg)
        if labels is not None and str(label) not in labels:
            msg = f"{name}: period {label!r} is not one of the selector's {list(labels)}"
            raise ValidationError(msg)
        if frame.crs is None or (len(frame) and frame.geom_type.isin(["Point", "MultiPoint"]).any()):
            msg = f"{name} must be cell or area polygons with a CRS (WGS84)"
            raise ValidationError(msg)
        frame = frame if frame.crs.to_epsg() == 4326 else frame.to_crs(4326)
        bins = pd.to_numeric(frame["bin"], errors="coerce")
        if bins.isna().any() or not bins.isin(list(GI_BINS)).all():
            msg = f"{name}: bin must be an integer -3..3"
            raise ValidationError(msg)
        cells = frame.assign(bin=bins.astype(int))
        out.append((0 if labels is None else list(labels).index(str(label)), str(theme), cells[cells["bin"] != 0]))
    return out


def add_theme_hotspots(state: LayerState, parts: Sequence[tuple[int, str, gpd.GeoDataFrame]]) -> list[tuple]:
    """One hidden layer per ``(period index, theme, cells)``, kept out of the layer control.

    The cells of each confidence class are drawn as one merged outline: a theme and period can flag
    thousands of cells, mostly side by side, and merging drops their inner edges (at a million incidents
    most of the page's bytes). Returns ``(layer, period index, theme)`` for :class:`ThemeHotspots`. Tooltips
    say the Gi* class and the theme, never a count.
    """
    out = []
    for index, theme, cells in parts:
        label = state.theme_label(theme)
        shown = gi_outlines(cells).assign(theme=esc(label))
        group = folium.FeatureGroup(name=esc(f"Hot spots: {label}"), show=False, control=False).add_to(state.fmap)
        folium.GeoJson(
            feature_collection(shown, ["label", "theme", "fill"]),
            style_function=cell_style,
            tooltip=folium.GeoJsonTooltip(fields=["label", "theme"], aliases=["Gi*", "Theme"]) if len(shown) else None,
        ).add_to(group)
        state.generated.append(label)
        out.append((group, index, theme))
    state.cell_groups += [group for group, _i, _t in out]
    return out


class ThemeHotspots(MacroElement):
    """Show the overall hot spots while every theme is ticked, else each ticked theme's, for the period shown.

    Listens to ``ctxrisk:themes`` (:class:`ctxrisk.maps.steering_places.ThemeFilter`) and ``ctxrisk:period``
    (:class:`ctxrisk.maps.steering_periods.PeriodSlider`), and says under the theme filter which hot spots
    show, naming each ticked theme with no hot or cold cell of its own in the period shown (so an empty map
    is not read as a broken one).

    Parameters
    ----------
    overall : sequence of sequence of folium layers
        Per period index, the overall (all themes) hot spot layers.
    themed : sequence of (folium layer, period index, theme)
    labels : mapping of theme -> label
        The themes' names as the filter shows them.
    periods : sequence of str
        The period labels, by period index.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var overall = [{% for layers in this.overall %}
                [{% for l in layers %}{{ l.get_name() }}{{ "," if not loop.last }}{% endfor %}]
                {{- "," if not loop.last }}{% endfor %}];
            var themed = [{% for l, i, t in this.themed %}
                [{{ l.get_name() }}, {{ i }}, {{ t|tojson }}]{{ "," if not loop.last }}{% endfor %}];
            var labels = {{ this.json(this.labels) }};
            var periods = {{ this.json(this.periods) }};
            var current = 0, on = null, status = null;
            function say(all) {
                if (!status) {
                    var box = document.querySelector(".ctxrisk-filter");
                    if (!box) { return; }
                    status = L.DomUtil.create("p", "ctxrisk-theme-status", box);
                    status.setAttribute("aria-live", "polite");
                }
                if (all) { status.textContent = "Hot spots: every theme together."; return; }
                var ticked = Object.keys(on).filter(function (k) { return on[k]; });
                var none = ticked.filter(function (k) {
                    return !themed.some(function (t) { return t[1] === current && t[2] === k; });
                });
                var text = "Hot spots: each ticked theme's own.";
                none.forEach(function (k) {
                    text += " " + (labels[k] || k) + ": no hot or cold spot of its own in " + periods[current] + ".";
                });
                status.textContent = text;
            }
            function set(layer, want) {
                if (want && !map.hasLayer(layer)) { map.addLayer(layer); layer.bringToFront(); }
                else if (!want && map.hasLayer(layer)) { map.removeLayer(layer); }
            }
            function radios() {
                // The period's overall layer is off the map while themes are chosen, so the layer control
                // would show no period checked: check the period shown (a click on any input of the control
                // then adds that layer back, the period event follows and this filter takes it off again).
                (overall[current] || []).forEach(function (layer) {
                    ((layer._events && layer._events.add) || []).forEach(function (handler) {
                        var control = handler.ctx;
                        if (!(control instanceof L.Control.Layers) || !control._layerControlInputs) { return; }
                        control._layerControlInputs.forEach(function (input) {
                            var entry = control._getLayer(input.layerId);
                            if (entry && entry.layer === layer) { input.checked = true; }
                        });
                    });
                });
            }
            function apply() {
                var all = !on || Object.keys(on).every(function (k) { return on[k]; });
                (overall[current] || []).forEach(function (l) { set(l, all); });
                themed.forEach(function (t) { set(t[0], !all && t[1] === current && !!on[t[2]]); });
                if (!all) { radios(); }
                say(all);
            }
            map.on("ctxrisk:period", function (e) { current = e.index; apply(); });
            map.on("ctxrisk:themes", function (e) { on = e.on; apply(); });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        overall: Sequence[Sequence[Any]],
        themed: Sequence[tuple[Any, int, str]],
        *,
        labels: Mapping[str, str],
        periods: Sequence[str],
    ) -> None:
        super().__init__()
        self._name = "CtxriskThemeHotspots"
        self.overall = [list(layers) for layers in overall]
        self.themed = [(layer, int(i), str(t)) for layer, i, t in themed]
        self.labels = {str(k): str(v) for k, v in labels.items()}
        self.periods = [str(p) for p in periods]

    @staticmethod
    def json(value: object) -> str:
        # labels may come from data: <, > and & as JSON escapes, and set as textContent in the page
        text = json.dumps(value, ensure_ascii=False)
        return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
