"""Keeping the pseudonymisation key out of log lines and stored errors."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence

REDACTED = "[redacted]"


def make_redactor(secrets: Sequence[bytes | str | None]) -> Callable[[str], str]:
    """Return ``redact(text)`` replacing each secret (as text) by ``[redacted]``; empty secrets are ignored."""
    texts = []
    for secret in secrets:
        if not secret:
            continue
        text = secret.decode("utf-8", errors="replace") if isinstance(secret, bytes) else secret
        if text:
            texts.append(text)

    def redact(value: str) -> str:
        for text in texts:
            value = value.replace(text, REDACTED)
        return value

    return redact


class RedactingFilter(logging.Filter):
    """A logging filter that removes secrets from every record's message."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info, record.exc_text = None, exc_text
        return True


@contextlib.contextmanager
def redacting_logs(redact: Callable[[str], str]) -> Iterator[None]:
    """Within the block, every handler of the root logger passes its records through :class:`RedactingFilter`."""
    handlers = list(logging.getLogger().handlers)
    filt = RedactingFilter(redact)
    for handler in handlers:
        handler.addFilter(filt)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(filt)
