"""`merkwacht watch ...`: see and change the watch list from the server's terminal, while the daemon runs.

Changes go to the same database the daemon reads; it applies them within seconds, without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from bot.cli.context import Context
from bot.watch.service import Change, WatchError, WatchService, cli_actor

T = TypeVar("T")


def _service(ctx: Context, *, must_exist: bool = False) -> WatchService:
    from storage.db import Database

    config = ctx.config
    return WatchService(Database(config.storage.url, must_exist=must_exist), config)


def _run(ctx: Context, work: Callable[[WatchService], Awaitable[T]], *, must_exist: bool = False) -> T:
    service = _service(ctx, must_exist=must_exist)
    try:
        return asyncio.run(work(service))  # type: ignore[arg-type]
    except WatchError as exc:
        raise click.ClickException(f"not changed: {exc}") from None
    finally:
        service.db.close()


def _report(change: Change) -> None:
    click.echo(change.message if change.changed else f"nothing changed: {change.message}")


@click.group()
def watch() -> None:
    """See and change what is watched (hashtags, brands, Discord channels) without a restart."""


@watch.command("list")
@click.pass_obj
def watch_list(ctx: Context) -> None:
    """Every watched entry, and whether the config file or a run-time change says so."""
    entries = _run(ctx, lambda s: s.entries(), must_exist=True)
    table = Table(title="Watch list")
    for column in ("what", "origin", "state", "brand", "changed"):
        table.add_column(column)
    for e in entries:
        changed = ""
        if e.changed_by:
            when = f" {e.changed_at:%Y-%m-%d %H:%M} UTC" if e.changed_at else ""
            changed = f"{e.detail} by {e.changed_by}{when}"
        table.add_row(e.label, e.origin, "active" if e.active else "removed", e.brand or "", changed)
    Console().print(table)


@watch.group("add")
def add() -> None:
    """Watch something more."""


@add.command("hashtag")
@click.argument("name")
@click.option("--brand", default=None, help="Count the hashtag for this brand.")
@click.option("--instance", default=None, help="Only on this instance (an http(s) URL); default: every instance.")
@click.pass_obj
def add_hashtag(ctx: Context, name: str, brand: str | None, instance: str | None) -> None:
    """Poll hashtag NAME."""
    _report(_run(ctx, lambda s: s.add_hashtag(name, brand=brand, instance=instance, by=cli_actor())))


@add.command("brand")
@click.argument("name")
@click.option("--term", "terms", multiple=True, help="A word or phrase that mentions the brand (repeatable).")
@click.option("--hashtag", "hashtags", multiple=True, help="A hashtag of the brand, polled too (repeatable).")
@click.option("--handle", "handles", multiple=True, help="An account of the brand, @user@domain (repeatable).")
@click.option("--exclude", multiple=True, help="A phrase that is not the brand (repeatable).")
@click.pass_obj
def add_brand(ctx: Context, name: str, terms: Sequence[str], hashtags: Sequence[str], handles: Sequence[str],
              exclude: Sequence[str]) -> None:
    """Add brand NAME, or replace its definition."""
    _report(_run(ctx, lambda s: s.add_brand(name, terms=terms, hashtags=hashtags, handles=handles, exclude=exclude,
                                            by=cli_actor())))


@add.command("channel")
@click.argument("channel_id")
@click.pass_obj
def add_channel(ctx: Context, channel_id: str) -> None:
    """Read Discord channel CHANNEL_ID (the bot must be able to read it; checked with its token)."""
    from bot.discord.access import RestChannelAccess
    from bot.discord.connection import DiscordConnection

    settings = ctx.config.discord
    token = settings.token()

    async def work(service: WatchService) -> Change:
        connection = DiscordConnection(token, settings.api_base) if token else None
        try:
            access = RestChannelAccess(connection) if connection else None
            return await service.add_channel(channel_id, access=access, by=cli_actor())
        finally:
            if connection is not None:
                await connection.close()

    _report(_run(ctx, work))


@watch.group("remove")
def remove() -> None:
    """Stop watching something (a config entry stays removed until the config file changes it)."""


@remove.command("hashtag")
@click.argument("name")
@click.option("--instance", default=None, help="Only on this instance; default: everywhere.")
@click.pass_obj
def remove_hashtag(ctx: Context, name: str, instance: str | None) -> None:
    """Stop polling hashtag NAME."""
    _report(_run(ctx, lambda s: s.remove_hashtag(name, instance=instance, by=cli_actor())))


@remove.command("brand")
@click.argument("name")
@click.pass_obj
def remove_brand(ctx: Context, name: str) -> None:
    """Stop matching brand NAME."""
    _report(_run(ctx, lambda s: s.remove_brand(name, by=cli_actor())))


@remove.command("channel")
@click.argument("channel_id")
@click.pass_obj
def remove_channel(ctx: Context, channel_id: str) -> None:
    """Stop reading Discord channel CHANNEL_ID."""
    _report(_run(ctx, lambda s: s.remove_channel(channel_id, by=cli_actor())))


@watch.command("history")
@click.option("--limit", type=click.IntRange(1, 10_000), default=30, show_default=True,
              help="How many changes to show (1 to 10,000).")
@click.pass_obj
def history(ctx: Context, limit: int) -> None:
    """The latest changes to the watch list: who changed what, and when."""
    from storage import watches as store

    service = _service(ctx, must_exist=True)
    try:
        with service.db.sessions() as session:
            rows: list[Any] = store.history(session, limit)
            for row in rows:
                where = f" on {row.instance}" if row.instance else ""
                click.echo(f"{row.changed_at:%Y-%m-%d %H:%M:%S} UTC  {row.changed_by}: {row.action} {row.kind} "
                           f"{row.key}{where}")
    finally:
        service.db.close()
