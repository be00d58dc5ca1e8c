"""ctxrisk: geospatial contextual-risk analytics for child safeguarding partnerships."""

__version__ = "0.1.0"
