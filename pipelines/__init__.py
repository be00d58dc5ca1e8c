"""Ingest anonymised partnership data and public formats into the ctxrisk DuckDB warehouse."""

__version__ = "0.1.0"
