"""Map controls drawn as Leaflet controls: colour legends (optionally tied to a layer) and an info box."""

from __future__ import annotations

import html as html_lib
from collections.abc import Sequence

import folium
from branca.element import MacroElement
from jinja2 import Template

from ctxrisk.pipelines.errors import ValidationError

__all__ = ["InfoBox", "Legend", "legend_html"]

_POSITIONS = ("topleft", "topright", "bottomleft", "bottomright")

_CSS = """
<style>
.ctxrisk-control {
    background: rgba(255, 255, 255, 0.92); padding: 6px 9px; border-radius: 4px;
    box-shadow: 0 1px 4px rgba(0, 0, 0, 0.35); font: 12px/1.35 Arial, Helvetica, sans-serif;
    color: #222; max-width: 300px;
}
.ctxrisk-control h4 { margin: 0 0 4px; font-size: 13px; }
.ctxrisk-control p { margin: 2px 0; }
.ctxrisk-legend-row { display: flex; align-items: center; margin: 2px 0; }
.ctxrisk-swatch {
    display: inline-block; width: 14px; height: 14px; margin-right: 6px; flex: none;
    border: 1px solid #555; border-radius: 2px;
}
</style>
"""


def legend_html(title: str, items: Sequence[tuple[str, str]]) -> str:
    """HTML of a legend: a title and one colour swatch per label (labels are escaped)."""
    rows = "".join(
        f'<div class="ctxrisk-legend-row"><span class="ctxrisk-swatch" style="background:{_colour(c)}">'
        f"</span><span>{html_lib.escape(label)}</span></div>"
        for c, label in items
    )
    return f"<h4>{html_lib.escape(title)}</h4>{rows}"


def _colour(value: str) -> str:
    text = str(value).strip()
    if not (text.startswith("#") and len(text) in (4, 7) and all(c in "0123456789abcdefABCDEF" for c in text[1:])):
        msg = f"legend colour must be #rgb or #rrggbb, got {value!r}"
        raise ValidationError(msg)
    return text


class _Control(MacroElement):
    _template = Template(
        """
        {% macro header(this, kwargs) %}"""
        + _CSS
        + """{% endmacro %}
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
            div.innerHTML = {{ this.content|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {%- if this.layers %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var control = {{ this.get_name() }};
            var layers = [{% for layer in this.layers %}{{ layer.get_name() }}{{ "," if not loop.last }}{% endfor %}];
            function update() {
                if (layers.some(function (l) { return map.hasLayer(l); })) { control.addTo(map); }
                else { control.remove(); }
            }
            map.on("overlayadd overlayremove", update);
            update();
        })();
        {%- else %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, content: str, *, position: str, css_class: str, layers: Sequence[folium.map.Layer] = ()) -> None:
        super().__init__()
        if position not in _POSITIONS:
            msg = f"position must be one of {', '.join(_POSITIONS)}; got {position!r}"
            raise ValidationError(msg)
        self._name = "CtxriskControl"
        self.content = content
        self.position = position
        self.css_class = css_class
        self.layers = list(layers)


class Legend(_Control):
    """A colour legend drawn inside the map; add it to the ``folium.Map`` after the layer it describes.

    Parameters
    ----------
    title : str
        Legend heading (escaped).
    items : sequence of (colour, label)
        ``colour`` is ``#rgb`` or ``#rrggbb``; labels are escaped.
    position : str
        ``"topleft"``, ``"topright"``, ``"bottomleft"`` or ``"bottomright"`` (default).
    layers : sequence of folium layers
        When given, the legend is shown only while at least one of these overlays is on the map (they must
        be added to the map before the legend).
    """

    def __init__(
        self,
        title: str,
        items: Sequence[tuple[str, str]],
        *,
        position: str = "bottomright",
        layers: Sequence[folium.map.Layer] = (),
    ) -> None:
        if not items:
            msg = f"legend {title!r} has no items"
            raise ValidationError(msg)
        super().__init__(
            legend_html(title, items), position=position, css_class="ctxrisk-control ctxrisk-legend", layers=layers
        )
        self.title = title
        self.items = list(items)


class InfoBox(_Control):
    """A box of explanatory text inside the map (title, period, suppression note).

    Parameters
    ----------
    title : str
        Heading (escaped).
    lines : sequence of str
        Paragraphs of plain text (escaped).
    position : str
        As for ``Legend``; default ``"bottomleft"``.
    """

    def __init__(self, title: str, lines: Sequence[str], *, position: str = "bottomleft") -> None:
        content = f"<h4>{html_lib.escape(title)}</h4>" + "".join(f"<p>{html_lib.escape(line)}</p>" for line in lines)
        super().__init__(content, position=position, css_class="ctxrisk-control ctxrisk-info")
        self.title = title
        self.lines = list(lines)
