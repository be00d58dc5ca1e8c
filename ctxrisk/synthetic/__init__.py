"""A synthetic partnership with its ground truth, for demos, tests and benchmarks."""

from ctxrisk.synthetic.sample import FILES, MIN_INCIDENTS, SCHEMAS, THEMES, generate_sample, parse_scale

__all__ = ["FILES", "MIN_INCIDENTS", "SCHEMAS", "THEMES", "generate_sample", "parse_scale"]
