"""Structured logs: one JSON object per line to stderr or `logging.file`, always redacted.

The redaction runs on the finished line (message, arguments, extras and traceback alike), so
no code path can log a secret by formatting it in a place the filter does not look.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from portico.config.model import LoggingConfig
from portico.observability.redact import Redactor

# Loggers whose records reach our handler; only `portico`'s level is set by us.
LOGGERS = ("portico", "uvicorn.error", "aiohttp")
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}
# LogRecord attributes that are not caller-supplied extras.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


class RedactingFormatter(logging.Formatter):
    """Formats a record as a JSON line (or plain text) and scrubs the result."""

    def __init__(self, redactor: Redactor, *, as_json: bool = True) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._redactor = redactor
        self._json = as_json

    def format(self, record: logging.LogRecord) -> str:
        if not self._json:
            return self._redactor.scrub(super().format(record))
        scrub = self._redactor.scrub
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                out[name] = value if isinstance(value, int | float | bool | None) \
                    else scrub(str(value))
        if record.exc_info:
            out["exc"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = scrub(record.stack_info)
        # Fields are scrubbed before encoding (escaping would hide `"key": "..."` pairs);
        # the encoded line gets a JSON-safe last pass for literal secrets.
        return self._redactor.scrub_serialized(json.dumps(out, ensure_ascii=False))


class RedactingFilter(logging.Filter):
    """For handlers we do not own: rewrites a record's message and traceback, redacted."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor.scrub(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self._redactor.scrub(
                logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


@dataclass
class LogSetup:
    """The handler the app factory installed; `close()` removes it again."""

    handler: logging.Handler
    loggers: tuple[str, ...]
    previous_level: int
    _closed: bool = field(default=False)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for name in self.loggers:
            logging.getLogger(name).removeHandler(self.handler)
        logging.getLogger("portico").setLevel(self.previous_level)
        self.handler.close()


def setup_logging(cfg: LoggingConfig, redactor: Redactor,
                  stream: TextIO | None = None) -> LogSetup:
    handler: logging.Handler
    if cfg.file:
        handler = logging.FileHandler(cfg.file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    level = _LEVELS[cfg.level]
    handler.setLevel(level)
    handler.setFormatter(RedactingFormatter(redactor, as_json=cfg.json))
    root = logging.getLogger("portico")
    previous = root.level
    root.setLevel(level)
    for name in LOGGERS:
        logging.getLogger(name).addHandler(handler)
    return LogSetup(handler=handler, loggers=LOGGERS, previous_level=previous)
