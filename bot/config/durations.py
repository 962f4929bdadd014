"""Human durations in the config file: `30s`, `5m`, `1h30m`, `2d`."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+$")


class DurationError(ValueError):
    """A text that is not a duration like 30s, 5m or 1h."""


def parse_duration(text: str) -> timedelta:
    """Parse `30s`, `5m`, `1h30m`, `1.5h` or `2d` into a positive timedelta."""
    if not isinstance(text, str) or not _WHOLE.match(text.lower()):
        raise DurationError(f"{text!r} is not a duration like 30s, 5m or 1h")
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text.lower()))
    if seconds <= 0:
        raise DurationError(f"{text!r} is not a positive duration")
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
