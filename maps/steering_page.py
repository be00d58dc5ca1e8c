"""A steering map page built from the warehouse's marts: render it, write it and record it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SteeringPage", "make_steering_map", "steering_page"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SteeringPage:
    """A rendered steering map.

    Attributes
    ----------
    html : str
        The self-contained page.
    summary : str
        One line: areas, periods with their cell counts, emerging cells, places of concern.
    inputs : ctxrisk.maps.steering_data.SteeringInputs
        What was drawn.
    """

    html: str
    summary: str
    inputs: Any


def steering_page(
    con,
    *,
    settings,
    period: str | None = None,
    include_out_of_area: bool = False,
    title: str = "Contextual safeguarding: places of concern",
    area: str | None = None,
) -> SteeringPage:
    """Build the steering map from the warehouse and render it as one self-contained page.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A warehouse holding ``marts.hotspots`` and ``marts.emerging_hotspots`` (and, for the places of
        concern, ``marts.locations_of_concern``).
    settings : ctxrisk.pipelines.settings.Settings
    period : str or None
        Comma-separated selector periods (see :func:`ctxrisk.maps.steering_data.resolve_periods`).
    include_out_of_area : bool
        See :func:`ctxrisk.maps.steering_data.load_steering_inputs`.
    title : str
        The page's heading (the area and period are added).
    area : str or None
        The partnership's local authority districts, by ONS code or name, comma-separated (see
        :func:`ctxrisk.maps.steering_data.load_steering_inputs`); None finds them from the data.

    Returns
    -------
    SteeringPage
    """
    from ctxrisk.maps.selfcontained import render_self_contained
    from ctxrisk.maps.steering_data import load_steering_inputs

    inputs = load_steering_inputs(
        con, settings=settings, period=period, include_out_of_area=include_out_of_area, area=area
    )
    fmap = inputs.build_map(settings=settings, title=title)
    html = render_self_contained(
        fmap, basemap_url=settings.maps.basemap_url, title=getattr(fmap, "ctxrisk_title", title)
    )
    summary = (
        f"{len(inputs.boundaries):,} areas, {len(inputs.periods)} period(s) "
        f"({', '.join(f'{len(p.hotspots):,}' for p in inputs.periods)} hot/cold spot cells), "
        f"{len(inputs.emerging):,} emerging cells, {len(inputs.locations):,} places of concern"
    )
    return SteeringPage(html, summary, inputs)


def make_steering_map(
    con,
    out: Path,
    *,
    settings,
    period: str | None = None,
    include_out_of_area: bool = False,
    title: str = "Contextual safeguarding: places of concern",
    area: str | None = None,
) -> tuple[Path, int, str]:
    """Build the steering map (:func:`steering_page`), write it atomically (0600) and record it in ``meta.audit``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A writable warehouse (the audit row is written to it).
    out : Path
        The HTML file to write (its folder is created).
    settings, period, include_out_of_area, title, area
        As :func:`steering_page`.

    Returns
    -------
    (pathlib.Path, int, str)
        The written path, its size in bytes and a one-line summary.
    """
    from ctxrisk.maps.selfcontained import write_html
    from ctxrisk.pipelines.warehouse import audit

    page = steering_page(
        con, settings=settings, period=period, include_out_of_area=include_out_of_area, title=title, area=area
    )
    summary = page.summary
    path = write_html(page.html, out)
    size = len(page.html.encode("utf-8"))
    audit(con, "map", edition="steering", target=str(path), detail=f"{summary}; {size:,} bytes")
    logger.info("steering map %s: %s", path, summary)
    return path, size, summary
