"""JSON log lines: one object per line, redacted in the message, args, extras and traceback."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from portico.config.model import LoggingConfig
from portico.observability.logging import RedactingFilter, RedactingFormatter, setup_logging
from portico.observability.redact import Redactor

SECRET = "sim-canary-0123456789abcdef"


def test_json_lines_are_redacted_everywhere() -> None:
    stream = io.StringIO()
    setup = setup_logging(LoggingConfig(level="debug"), Redactor([SECRET]), stream)
    try:
        log = logging.getLogger("portico.test")
        log.debug("upstream said %s", f'{{"authorization": "Bearer {SECRET}"}}',
                  extra={"headers": {"x-api-key": SECRET}, "count": 3})
        try:
            raise ValueError(f"bad key {SECRET}")
        except ValueError:
            log.exception("failed with Cookie: sid=%s", SECRET)
    finally:
        setup.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "debug" and first["logger"] == "portico.test"
    assert first["count"] == 3
    assert "ValueError" in second["exc"]
    assert SECRET not in stream.getvalue()
    assert "[redacted]" in first["msg"] and "[redacted]" in second["exc"]


def test_file_output_and_level(tmp_path: Path) -> None:
    path = tmp_path / "portico.log"
    setup = setup_logging(LoggingConfig(level="warning", file=str(path)), Redactor())
    try:
        logging.getLogger("portico.x").info("hidden")
        logging.getLogger("portico.x").warning("shown sk-abcdefghijklmnop")
    finally:
        setup.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and "shown [redacted]" in json.loads(lines[0])["msg"]
    # Closing removed the handler: nothing more reaches the file.
    logging.getLogger("portico.x").warning("after close")
    assert len(path.read_text().splitlines()) == 1


def test_plain_text_mode_is_redacted_too() -> None:
    fmt = RedactingFormatter(Redactor([SECRET]), as_json=False)
    record = logging.LogRecord("portico", logging.INFO, __file__, 1, "k=%s", (SECRET,), None)
    assert SECRET not in fmt.format(record)


def test_filter_rewrites_records_for_foreign_handlers() -> None:
    record = logging.LogRecord("other", logging.INFO, __file__, 1, "x-api-key: %s", (SECRET,),
                               None)
    assert RedactingFilter(Redactor([SECRET])).filter(record)
    assert SECRET not in record.getMessage()
