"""Which days a digest may be built or sent for: one shared rule for the CLI and the slash commands.

A digest is sent once per day and channel, so sending a day that is not over records it as sent and the full digest
is never posted: that is refused unless forced.
"""

from __future__ import annotations

from datetime import date

EARLIEST = date(2000, 1, 1)
"""No fediverse post is older; earlier dates are typing mistakes (and year 1 overflows time-zone arithmetic)."""


class DayRefused(ValueError):
    """A day whose digest would be wrong or would block the real one; the message says why and what to do."""


def check_digest_day(day: date, today: date, *, sending: bool, force_partial: bool = False,
                     force_hint: str = "--force-partial") -> None:
    """Raise DayRefused for a day before EARLIEST, after `today`, or `today` itself when sending unforced."""
    if day < EARLIEST:
        raise DayRefused(f"{day} is before {EARLIEST}; give a day Merkwacht could have watched")
    if day > today:
        raise DayRefused(f"{day} has not begun yet (today is {today} in the config's time zone)")
    if day == today and sending and not force_partial:
        force = f", or {force_hint} to send it anyway" if force_hint else ""
        raise DayRefused(
            f"{day} is today and not over: a digest is sent once per day, so sending it now would keep the full one "
            f"from ever being posted; preview it instead{force}"
        )
