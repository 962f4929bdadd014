"""Which days `merkwacht digest --date` may send: a digest is sent once per day, so a day not over yet is refused."""

from __future__ import annotations

from datetime import date

import click

EARLIEST = date(2000, 1, 1)
"""No fediverse post is older; earlier dates are typing mistakes (and year 1 overflows time-zone arithmetic)."""


def check_digest_day(day: date, today: date, *, sending: bool, force_partial: bool) -> None:
    """Raise a usage error for a day whose digest would be wrong or would block the real one."""
    if day < EARLIEST:
        raise click.BadParameter(f"{day} is before {EARLIEST}; give a day Merkwacht could have watched",
                                 param_hint="--date")
    if day > today:
        raise click.BadParameter(f"{day} has not begun yet (today is {today} in the config's time zone)",
                                 param_hint="--date")
    if day == today and sending and not force_partial:
        raise click.BadParameter(
            f"{day} is today and not over: a digest is sent once per day, so sending it now would keep the full "
            "one from ever being posted; use --dry-run to look at it, or --force-partial to send it anyway",
            param_hint="--date",
        )
