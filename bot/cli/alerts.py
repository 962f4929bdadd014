"""`merkwacht alerts ...`: see recent alerts, mute and unmute brands, and post a test alert, from the terminal.

Mutes go to the same database the daemon reads, so they apply at its next check, without a restart.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import click

from bot.alerts.control import AlertControl, AlertControlError
from bot.cli.context import Context
from bot.watch.service import cli_actor

T = TypeVar("T")


@contextmanager
def _control(ctx: Context) -> Iterator[AlertControl]:
    from bot.watch.live import LiveWatchList
    from storage.db import Database

    config = ctx.config
    db = Database(config.storage.url)
    watches = LiveWatchList(db, config)
    try:
        # Brands added at run time (`watch add brand`) can be muted too.
        yield AlertControl(db, lambda: watches.cached().config)
    finally:
        db.close()


def _do(ctx: Context, work: Callable[[AlertControl], T]) -> T:
    with _control(ctx) as control:
        try:
            return work(control)
        except AlertControlError as exc:
            raise click.ClickException(str(exc)) from None


@click.group()
def alerts() -> None:
    """Alerts within minutes: list them, mute or unmute a brand, post a test."""


@alerts.command("list")
@click.option("--limit", default=15, show_default=True, help="How many of the latest alerts to show.")
@click.pass_obj
def alerts_list(ctx: Context, limit: int) -> None:
    """The alert settings, the muted brands and the latest alerts (sent, held or dropped)."""
    for line in _do(ctx, lambda c: c.lines(limit)):
        click.echo(line)


@alerts.command("mute")
@click.argument("brand")
@click.argument("duration", required=False)
@click.pass_obj
def alerts_mute(ctx: Context, brand: str, duration: str | None) -> None:
    """Mute BRAND's alerts for DURATION (like 2h or 1d), or until `alerts unmute`."""
    click.echo(_do(ctx, lambda c: c.mute(brand, duration, cli_actor())))


@alerts.command("unmute")
@click.argument("brand")
@click.pass_obj
def alerts_unmute(ctx: Context, brand: str) -> None:
    """Let BRAND's alerts through again."""
    click.echo(_do(ctx, lambda c: c.unmute(brand)))


@alerts.command("test")
@click.option("--dry-run", is_flag=True, help="Print the sample alert's message body instead of posting it.")
@click.pass_obj
def alerts_test(ctx: Context, dry_run: bool) -> None:
    """Post a clearly marked sample alert to the alert channel (no role is pinged)."""
    if dry_run:
        click.echo(json.dumps(_do(ctx, lambda c: c.test_payload()), ensure_ascii=False))
        return
    from bot.discord.connection import DiscordConnection
    from bot.discord.sink import DeliveryError, DiscordSink

    config = ctx.config
    token = config.discord.token()
    if not token:
        raise click.ClickException(f"cannot send: no Discord token in {config.discord.token_env}; "
                                   "use --dry-run to see the test alert")
    connection = DiscordConnection(token, config.discord.api_base)

    async def send(control: AlertControl) -> str:
        try:
            return await control.send_test(DiscordSink(connection, retries=1))
        finally:
            await connection.close()

    try:
        message_id = _do(ctx, lambda c: asyncio.run(send(c)))
    except DeliveryError as exc:
        raise click.ClickException(f"the test alert was not posted: {exc}") from None
    click.echo(f"test alert posted in channel {config.alerts.channel} (message {message_id})")
