"""Failures a stage survives on purpose (a post it cannot analyse is stored without analysis): never silent.

Each kind of failure is logged once, with its traceback, and every occurrence is counted, so a broken model shows up
as one warning and a rising counter instead of a log flood or nothing at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

FailureCounter = Callable[[str, str], None]
"""Counts one failure of (stage, error type); the daemon wires it to a Prometheus counter."""


class FailureLog:
    """The failures one process survived, by stage and error type: logged the first time, counted every time."""

    def __init__(self, logger: logging.Logger, count: FailureCounter | None = None) -> None:
        self._logger = logger
        self._count = count
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()  # pages are processed in worker threads

    def record(self, stage: str, error: BaseException, *, what: str = "a post") -> None:
        """Note that `stage` failed on `what` with `error`; the first failure of its kind is logged in full."""
        kind = (stage, type(error).__name__)
        if self._count is not None:
            self._count(*kind)
        with self._lock:
            first = kind not in self._seen
            self._seen.add(kind)
        if first:
            self._logger.warning(
                "%s failed on %s (%s: %s); it goes on without it, and further %s failures of this kind are only "
                "counted (merkwacht_stage_failures_total)",
                stage, what, kind[1], error, stage, exc_info=error,
            )
        else:
            self._logger.debug("%s failed on %s again (%s: %s)", stage, what, kind[1], error)
