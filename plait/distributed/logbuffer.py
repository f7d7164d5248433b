"""The recent log records of a process, kept in memory for the dashboard's info page.

:func:`attach` adds one process-wide buffer to the ``plait`` logger (records at INFO and
above that the logger lets through).

>>> import logging
>>> buf = LogBuffer(maxlen=2)
>>> log = logging.getLogger("plait.test-logbuffer"); log.addHandler(buf)
>>> log.setLevel(logging.INFO); log.propagate = False
>>> for i in range(3): log.info("step %d", i)
>>> [r["message"] for r in buf.records()]
['step 1', 'step 2']
>>> log.removeHandler(buf)
"""

from __future__ import annotations

import logging
from collections import deque

__all__ = ["LogBuffer", "attach"]


class LogBuffer(logging.Handler):
    """A logging handler that keeps the last ``maxlen`` records as plain dicts."""

    def __init__(self, maxlen: int = 1000, level: int = logging.INFO):
        super().__init__(level)
        self._records: deque = deque(maxlen=maxlen)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            message += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self._records.append({"time": record.created, "level": record.levelname,
                              "name": record.name, "message": message})

    def records(self, limit: int | None = None) -> list[dict]:
        out = list(self._records)
        return out[-limit:] if limit else out


_attached: LogBuffer | None = None


def attach(maxlen: int = 1000) -> LogBuffer:
    """The process-wide buffer on the ``plait`` logger (created on first use)."""
    global _attached
    if _attached is None:
        _attached = LogBuffer(maxlen)
        # The logger's level stays as the process configured it: raising it here would
        # send plait's INFO records to the user's own handlers too. Worker processes
        # and ``plait scheduler`` set INFO themselves; elsewhere the buffer sees what
        # the user's configuration lets through (warnings and errors by default).
        logging.getLogger("plait").addHandler(_attached)
    return _attached
