"""A synthetic partnership with its ground truth, for demos, tests and benchmarks.

:mod:`~ctxrisk.synthetic.world` holds the fixed vocabulary and places, :mod:`~ctxrisk.synthetic.plan` the
random plan of one partnership, :mod:`~ctxrisk.synthetic.events` and :mod:`~ctxrisk.synthetic.links` the rows
of each file, :mod:`~ctxrisk.synthetic.encode` their schemas and writers, and :mod:`~ctxrisk.synthetic.sample`
the entry point and the ground truth.
"""

from ctxrisk.synthetic.encode import SCHEMAS
from ctxrisk.synthetic.sample import generate_sample, parse_scale
from ctxrisk.synthetic.world import FILES, MIN_INCIDENTS, THEMES

__all__ = ["FILES", "MIN_INCIDENTS", "SCHEMAS", "THEMES", "generate_sample", "parse_scale"]
