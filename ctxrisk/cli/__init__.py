"""The ``ctxrisk`` command line: the top layer, over ingest, analytics, maps and the scheduled run."""
