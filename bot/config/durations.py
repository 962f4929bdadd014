"""Human durations in the config file: `30s`, `5m`, `1h30m`, `2d`."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+$")


class DurationError(ValueError):
    """A text that is not a duration like 30s, 5m or 1h."""


MAX_DURATION = timedelta(days=3650)
"""Ten years: longer than anything Merkwacht waits for or reads back, short enough that date arithmetic never
overflows (`now - backfill` must stay a valid date)."""


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """Parse `30s`, `5m`, `1h30m`, `1.5h` or `2d` into a positive timedelta (or zero, when `allow_zero`)."""
    if not isinstance(text, str) or len(text) > 100 or not _WHOLE.match(text.lower()):
        raise DurationError(f"{text!r} is not a duration like 30s, 5m or 1h")
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text.lower()))
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise DurationError(f"{text!r} is not a positive duration")
    if seconds > MAX_DURATION.total_seconds():
        raise DurationError(f"{text!r} is longer than {MAX_DURATION.days}d, the longest duration Merkwacht accepts")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest text that `parse_duration` reads back as `value` (whole seconds)."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
