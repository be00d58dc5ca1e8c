"""Render Folium maps as single HTML files that open with no network: every script and style inlined."""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import logging
import os
import re
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import branca.element
import folium

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.fsutil import atomic_write_text

__all__ = [
    "ASSETS_DIR",
    "VendoredAsset",
    "base_map",
    "content_security_policy",
    "external_references",
    "render_self_contained",
    "write_html",
]

logger = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent / "assets"

#: Strings that look like URLs but are XML namespace names, never fetched by a browser.
_NAMESPACE_URLS = (
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xhtml",
)


@dataclass(frozen=True)
class VendoredAsset:
    """A file under ``maps/assets`` that replaces one CDN link of folium.

    Attributes
    ----------
    filename : str
        File name inside ``maps/assets``.
    kind : str
        ``"js"`` or ``"css"``.
    package, version, licence : str
        npm package, exact version and licence of the file.
    needed_when : tuple of str
        The asset is inlined only when the page's own (folium-generated) text contains one of these
        strings; empty means always.
    images : tuple of (str, str)
        For stylesheets: ``(relative url in the CSS, asset file name)`` pairs turned into ``data:`` URIs.
    """

    filename: str
    kind: str
    package: str
    version: str
    licence: str
    needed_when: tuple[str, ...] = ()
    images: tuple[tuple[str, str], ...] = ()


_LEAFLET_JS = VendoredAsset("leaflet.js", "js", "leaflet", "1.9.3", "BSD-2-Clause")
_LEAFLET_CSS = VendoredAsset(
    "leaflet.css",
    "css",
    "leaflet",
    "1.9.3",
    "BSD-2-Clause",
    images=(
        ("images/layers.png", "leaflet-layers.png"),
        ("images/layers-2x.png", "leaflet-layers-2x.png"),
        ("images/marker-icon.png", "leaflet-marker-icon.png"),
    ),
)
_JQUERY_JS = VendoredAsset("jquery.min.js", "js", "jquery", "3.7.1", "MIT", needed_when=("$(", "$.", "jQuery"))
_AWESOME_JS = VendoredAsset(
    "leaflet.awesome-markers.min.js",
    "js",
    "drmonty-leaflet-awesome-markers",
    "2.0.2",
    "MIT",
    needed_when=("L.AwesomeMarkers",),
)
_AWESOME_CSS = VendoredAsset(
    "leaflet.awesome-markers.css",
    "css",
    "drmonty-leaflet-awesome-markers",
    "2.0.2",
    "MIT",
    needed_when=("L.AwesomeMarkers",),
    images=(
        ("images/markers-soft.png", "awesome-markers-soft.png"),
        ("images/markers-shadow.png", "awesome-markers-shadow.png"),
        ("images/markers-soft@2x.png", "awesome-markers-soft.png"),
        ("images/markers-shadow@2x.png", "awesome-markers-shadow.png"),
    ),
)

#: Every CDN URL folium 0.20 links by default, mapped to its vendored copy, or to ``None`` when the
#: resource is dropped on purpose (see ``maps/assets/README.md``).
_URL_ASSETS: dict[str, VendoredAsset | None] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": _LEAFLET_JS,
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": _LEAFLET_CSS,
    "https://code.jquery.com/jquery-3.7.1.min.js": _JQUERY_JS,
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": _AWESOME_JS,
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": _AWESOME_CSS,
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": None,
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": None,
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": None,
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": None,
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": None,
}

_SCRIPT_TAG = re.compile(r"<script\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"'][^>]*>\s*</script\s*>", re.IGNORECASE)
_LINK_TAG = re.compile(
    r"<link\b[^>]*?\brel\s*=\s*[\"']stylesheet[\"'][^>]*?\bhref\s*=\s*[\"']([^\"']+)[\"'][^>]*?/?>",
    re.IGNORECASE,
)
_ABSOLUTE_URL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*[\"']?([^\"')]+?)[\"']?\s*\)", re.IGNORECASE)
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=.*$", re.MULTILINE)
_TILE_URL = re.compile(r"^https?://[^\s\"'<>]+$", re.IGNORECASE)
#: A URL the page's own code would load: a Leaflet tile layer or image overlay, or an HTML attribute or CSS
#: ``url()`` written into a script string (a popup's ``<img src=...>``). Escaped data text (``&lt;img ...``)
#: and plain words in names ("see https://...") are not resources and never match.
_OWN_RESOURCE = re.compile(
    r"(?:L\.(?:tileLayer|imageOverlay|videoOverlay)(?:\.wms)?\(\s*[\"']"
    r"|\b(?:src|href|srcset|poster|action|formaction|background|data)\s*=\s*\\?[\"']?\s*"
    r"|url\(\s*\\?[\"']?|@import\s+\\?[\"'])"
    r"((?:https?:)?//[^\s\"'<>`)\\]+)",
    re.IGNORECASE,
)
_INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_NO_ZOOM = re.compile(r",\s*(?:maximum-scale\s*=\s*1(?:\.0)?|user-scalable\s*=\s*no)\b", re.IGNORECASE)
_VIEWPORT_META = re.compile(r"<meta\b[^>]*\bname\s*=\s*[\"']viewport[\"'][^>]*>", re.IGNORECASE)
_CSP_META = re.compile(r"<meta\b[^>]*http-equiv\s*=\s*[\"']?content-security-policy", re.IGNORECASE)

# Leaflet finds its default marker image by reading a CSS url() and stripping the file name, which fails
# for a data: URI; give the default icon its images directly instead.
_DEFAULT_ICON_PATCH = """
L.Icon.Default.mergeOptions({iconUrl: %s, iconRetinaUrl: %s, shadowUrl: %s});
L.Icon.Default.prototype._getIconUrl = function (name) {
    return L.Icon.prototype._getIconUrl.call(this, name);
};
"""


@cache
def _asset_text(filename: str) -> str:
    return (ASSETS_DIR / filename).read_text(encoding="utf-8")


@cache
def _data_uri(filename: str) -> str:
    data = (ASSETS_DIR / filename).read_bytes()
    mime = "image/png" if filename.endswith(".png") else "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _script_safe(text: str) -> str:
    """Make JavaScript safe to place between ``<script>`` tags."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def _inline_js(asset: VendoredAsset) -> str:
    text = _SOURCE_MAP.sub("", _asset_text(asset.filename))
    header = f"/* {asset.filename}: npm {asset.package}@{asset.version}, {asset.licence} */\n"
    return f"<script>{header}{_script_safe(text)}</script>"


def _inline_css(asset: VendoredAsset) -> str:
    text = _SOURCE_MAP.sub("", _asset_text(asset.filename))
    replacements = dict(asset.images)

    def _replace(match: re.Match[str]) -> str:
        target = match.group(1)
        if target in replacements:
            return f'url("{_data_uri(replacements[target])}")'
        return match.group(0)

    text = _CSS_URL.sub(_replace, text)
    header = f"/* {asset.filename}: npm {asset.package}@{asset.version}, {asset.licence} */\n"
    return f"<style>{header}{text}</style>"


def _default_icon_patch() -> str:
    js = _DEFAULT_ICON_PATCH % (
        f'"{_data_uri("leaflet-marker-icon.png")}"',
        f'"{_data_uri("leaflet-marker-icon-2x.png")}"',
        f'"{_data_uri("leaflet-marker-shadow.png")}"',
    )
    return f"<script>{js}</script>"


class _ReferenceCollector(HTMLParser):
    """Collect URL-valued attributes of real tags and ``url()``/``@import`` targets of ``<style>`` blocks."""

    _URL_ATTRS = frozenset({"src", "href", "srcset", "poster", "data", "action", "formaction", "background"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.references: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None or name not in self._URL_ATTRS:
                continue
            if name == "srcset":
                self.references.extend(part.strip().split(" ")[0] for part in value.split(","))
            else:
                self.references.append(value.strip())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.references.extend(m.group(1).strip() for m in _CSS_URL.finditer(data))
            self.references.extend(re.findall(r"@import\s+[\"']([^\"']+)[\"']", data))


def external_references(html: str) -> list[str]:
    """List the absolute ``http(s)://`` (or protocol-relative) URLs a page's tags and styles would load.

    Parameters
    ----------
    html : str
        A complete HTML page.

    Returns
    -------
    list of str
        ``src``/``href``/``srcset``/... attribute values of tags and ``url()``/``@import`` targets inside
        ``<style>`` blocks that are absolute network URLs, in document order. Text inside ``<script>`` is not
        parsed as tags.
    """
    collector = _ReferenceCollector()
    collector.feed(html)
    collector.close()
    return [ref for ref in collector.references if _ABSOLUTE_URL.match(ref)]


def _check_basemap_url(basemap_url: str | None) -> None:
    if basemap_url is None:
        return
    if not _TILE_URL.match(basemap_url) or not all(k in basemap_url for k in ("{z}", "{x}", "{y}")):
        msg = (
            f"basemap_url {basemap_url!r} is not a tile URL template: it must start with https:// "
            "and contain {z}, {x} and {y}"
        )
        raise ValidationError(msg)


def base_map(
    *,
    location: tuple[float, float],
    zoom_start: int = 12,
    basemap_url: str | None = None,
    basemap_attribution: str | None = None,
    **kwargs: object,
) -> folium.Map:
    """Make a ``folium.Map`` with no basemap, or with the one configured tile layer.

    Parameters
    ----------
    location : (float, float)
        Initial centre, WGS84 ``(latitude, longitude)``.
    zoom_start : int
        Initial zoom level (0-18).
    basemap_url : str or None
        Tile URL template (``https://…/{z}/{x}/{y}.png``), e.g. ``settings.maps.basemap_url``. ``None`` (the
        default) draws no basemap: boundaries form the base and the page makes no request at all.
    basemap_attribution : str or None
        Plain-text attribution shown for the tiles (no links: a link would be an external reference).
    **kwargs
        Passed to ``folium.Map``.

    Returns
    -------
    folium.Map
    """
    _check_basemap_url(basemap_url)
    fmap = folium.Map(location=list(location), zoom_start=zoom_start, tiles=None, **kwargs)
    if basemap_url is not None:
        folium.TileLayer(
            tiles=basemap_url,
            attr=basemap_attribution or "Basemap tiles",
            name="Basemap",
            overlay=False,
            control=False,
        ).add_to(fmap)
    return fmap


def render_self_contained(
    fig: folium.Map | branca.element.Figure,
    *,
    basemap_url: str | None = None,
    title: str | None = None,
    lang: str = "en-GB",
) -> str:
    """Render a map or figure as one HTML page with every script and stylesheet inlined.

    folium's CDN links are replaced by the vendored copies in ``maps/assets`` (see its README); jQuery and
    Leaflet.awesome-markers are inlined only when the page uses them; Bootstrap, glyphicons, Font Awesome
    and folium's rotate CSS are dropped. Images referenced by the stylesheets become ``data:`` URIs.

    Parameters
    ----------
    fig : folium.Map or branca.element.Figure
        What to render; a map is rendered through its root figure.
    basemap_url : str or None
        The configured tile URL template, if any: the only external URL the page may contain (as a
        Leaflet tile layer). ``None`` means the page must load no external resource at all.
    title : str or None
        The page's ``<title>`` (escaped); ``None`` keeps the figure's own, if any.
    lang : str
        The ``lang`` of the ``<html>`` element (BCP 47), default ``"en-GB"``.

    Returns
    -------
    str
        The complete HTML page. Its ``<head>`` starts with a Content-Security-Policy (see
        :func:`content_security_policy`) allowing exactly the page's own inline scripts (by SHA-256 hash),
        inline styles, ``data:`` images and, when configured, the basemap's tile host: injected markup can
        neither run a script nor make a request. A page that already declares a policy keeps its own.

    Raises
    ------
    ValidationError
        If the page links a script or stylesheet with no vendored copy, or, after inlining, a resource other
        than ``basemap_url`` would be loaded: a tag's ``src``/``href``, a style's ``url()``, a tile layer
        or an attribute written into the page's own script text (a popup's ``<img src=...>``). Words in data
        (a place named "see https://...") are text, not resources, and never stop a page. The message names
        the URL.
    """
    _check_basemap_url(basemap_url)
    root = fig.get_root()
    if not isinstance(root, branca.element.Figure):
        msg = f"cannot render {type(fig).__name__}: it is not attached to a branca Figure"
        raise ValidationError(msg)
    html = root.render()

    linked: list[tuple[re.Match[str], str]] = [(m, "js") for m in _SCRIPT_TAG.finditer(html)]
    linked += [(m, "css") for m in _LINK_TAG.finditer(html)]
    for match, _kind in linked:
        url = match.group(1)
        if _ABSOLUTE_URL.match(url) and url not in _URL_ASSETS:
            msg = (
                f"page links {url} which has no vendored copy in maps/assets; "
                "vendor it (see maps/assets/README.md) or do not use the folium feature that needs it"
            )
            raise ValidationError(msg)

    own_text = _SCRIPT_TAG.sub("", _LINK_TAG.sub("", html))
    _check_own_resources(own_text, basemap_url=basemap_url)

    uses_default_marker = "L.marker(" in own_text and "L.Icon.Default" not in own_text

    def _replacement(match: re.Match[str]) -> str:
        asset = _URL_ASSETS.get(match.group(1))
        if asset is None:
            return ""
        if asset.needed_when and not any(needle in own_text for needle in asset.needed_when):
            return ""
        if asset.kind == "css":
            return _inline_css(asset)
        block = _inline_js(asset)
        if asset is _LEAFLET_JS and uses_default_marker:
            block += _default_icon_patch()
        return block

    out = _LINK_TAG.sub(_replacement, _SCRIPT_TAG.sub(_replacement, html))

    for ref in external_references(out):
        msg = f"self-contained page still references the external URL {ref}"
        raise ValidationError(msg)
    out = _with_head(out, basemap_url=basemap_url, title=title, lang=lang)
    logger.info("rendered self-contained page of %s bytes", f"{len(out.encode('utf-8')):,}")
    return out


def _check_own_resources(text: str, *, basemap_url: str | None) -> None:
    """Raise if the page's own code would load a network URL other than the basemap."""
    allowed = set(_NAMESPACE_URLS)
    if basemap_url is not None:
        allowed.add(basemap_url)
    for match in _OWN_RESOURCE.finditer(text):
        url = match.group(1)
        if any(url.startswith(a) for a in allowed):
            continue
        msg = f"page would make an external request: it loads the URL {url}"
        raise ValidationError(msg)


def content_security_policy(html: str, *, basemap_url: str | None = None) -> str:
    """The Content-Security-Policy of a self-contained page: its own inline scripts only, no network.

    Parameters
    ----------
    html : str
        The page; every inline ``<script>`` block's text is hashed (SHA-256).
    basemap_url : str or None
        The configured tile URL template; its scheme and host are allowed for images.

    Returns
    -------
    str
        ``default-src 'none'; script-src 'sha256-...' ...; style-src 'unsafe-inline'; img-src data: blob:
        [tile host]; font-src data:; base-uri 'none'; form-action 'none'``. No ``'unsafe-inline'`` for
        scripts: an injected ``<img onerror=...>`` or ``<script>`` does not run.
    """
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"
            for attrs, body in _INLINE_SCRIPT.findall(html)
            if "src=" not in attrs.lower()
        }
    )
    images = ["data:", "blob:"]
    if basemap_url is not None:
        host = re.match(r"^(https?://[^/]+)", basemap_url.replace("{s}", "*"))
        if host:
            images.append(host.group(1))
    scripts = " ".join(hashes) if hashes else "'none'"
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; img-src {' '.join(images)}; "
        "font-src data:; base-uri 'none'; form-action 'none'"
    )


def _with_head(html: str, *, basemap_url: str | None, title: str | None, lang: str) -> str:
    """Add ``lang``, the ``<title>`` and the Content-Security-Policy; let the reader zoom (WCAG 1.4.4)."""
    html = _VIEWPORT_META.sub(lambda m: _NO_ZOOM.sub("", m.group(0)), html)
    if re.search(r"<html\b[^>]*\blang\s*=", html, re.IGNORECASE) is None:
        html = re.sub(r"<html\b", f'<html lang="{html_lib.escape(lang)}"', html, count=1, flags=re.IGNORECASE)
    head = []
    if _CSP_META.search(html) is None:
        csp = content_security_policy(html, basemap_url=basemap_url)
        head.append(f'<meta http-equiv="Content-Security-Policy" content="{html_lib.escape(csp)}">')
    if title is not None:
        html = re.sub(r"<title\b[^>]*>.*?</title\s*>", "", html, flags=re.IGNORECASE | re.DOTALL)
        head.append(f"<title>{html_lib.escape(title)}</title>")
    if not head:
        return html
    match = re.search(r"<head\b[^>]*>", html, re.IGNORECASE)
    if match is None:
        return "".join(head) + html
    return html[: match.end()] + "".join(head) + html[match.end() :]


def write_html(html: str, path: str | os.PathLike[str]) -> Path:
    """Write a page atomically: a temporary file in the same folder, mode 0600, then renamed over ``path``.

    Parameters
    ----------
    html : str
        The page, written as UTF-8.
    path : str or path-like
        Destination; its folder is created if missing.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    target = atomic_write_text(path, html)  # a folder or a path under a file is a clear error
    logger.info("wrote %s (%s bytes)", target, f"{len(html.encode('utf-8')):,}")
    return target
