"""Exceptions raised by ctxrisk, each with a message an analyst can act on."""


class CtxriskError(Exception):
    """Base class for every error ctxrisk raises on purpose."""


class ValidationError(CtxriskError):
    """Input that cannot be accepted: a file, a column or an option."""


class IdentifierError(ValidationError):
    """A file holds a column that looks like a direct identifier of a person."""


class SchemaVersionError(CtxriskError):
    """The warehouse was made by a different schema version than this ctxrisk."""


class LockError(CtxriskError):
    """Another ctxrisk run holds the warehouse lock."""
