"""The `merkwacht` command: run the daemon, poll once, check the config, export, and the self-contained demo."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.cli.alerts import alerts
from bot.cli.context import Context
from bot.cli.errors import GuardedGroup
from bot.cli.privacy import forget, normalise_account
from bot.cli.status import status
from bot.cli.watch import watch
from bot.cli.worker import worker
from bot.config import DEFAULT_CONFIG_PATH, Config
from bot.config.durations import format_duration
from bot.config.schema import SecretError
from bot.ops.logs import setup_logging
from bot.ops.memory import freeze_startup_objects, tune_heap

CSV_COLUMNS = (
    "uri",
    "url",
    "source",
    "instance",
    "author",
    "author_name",
    "author_followers",
    "created_at",
    "language",
    "language_source",
    "spoiler_text",
    "text",
    "tags",
    "brands",
    "replies",
    "boosts",
    "favourites",
    "sentiment",
    "sentiment_score",
    "sentiment_confidence",
    "cx",
    "cx_confidence",
    "topics",
)


pass_context = click.make_pass_decorator(Context)


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="MERKWACHT_CONFIG",
    default=DEFAULT_CONFIG_PATH,
    show_default=True,
    help="The config file (or set MERKWACHT_CONFIG).",
)
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              default="INFO", show_default=True, help="DEBUG also shows the traceback of an error.")
@click.option("--log-format", type=click.Choice(["plain", "json"]), default="plain", show_default=True)
@click.pass_context
def cli(ctx: click.Context, config_path: Path, log_level: str, log_format: str) -> None:
    """Merkwacht watches what the fediverse and Discord say about your brands."""
    setup_logging(log_level, log_format)
    ctx.obj = Context(config_path)


@cli.command()
@pass_context
def run(ctx: Context) -> None:
    """Run the daemon: poll every source on schedule until SIGTERM or Ctrl-C."""
    from bot.daemon.app import Application

    _apply_config_log_format(ctx.config)
    if ctx.config.ops.tune_heap and not tune_heap():
        logging.getLogger(__name__).warning("[ops] tune_heap is set, but this C library has no such settings")
    app = Application(ctx.config)
    freeze_startup_objects()
    asyncio.run(app.run())


def _apply_config_log_format(config: Config) -> None:
    # `[ops] log_format` applies unless --log-format was given on the command line, which always wins.
    root = click.get_current_context().find_root()
    if config.ops.log_format and root.get_parameter_source("log_format") == click.core.ParameterSource.DEFAULT:
        setup_logging(logging.getLevelName(logging.getLogger().level), config.ops.log_format)


@cli.command()
@click.option("--source", "sources", multiple=True, help="Only timelines whose name contains this (repeatable).")
@pass_context
def poll(ctx: Context, sources: Sequence[str]) -> None:
    """Poll every source once, print a line per source, and exit (non-zero if any failed)."""
    from bot.daemon.app import Application

    app = Application(ctx.config)
    timelines = app.select(sources)
    if not timelines:
        raise click.ClickException("no timeline matches; `merkwacht check` lists them")
    console = Console(stderr=True)
    results = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} posts"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:

        async def poll_all() -> list[Any]:
            async def one(timeline: Any) -> Any:
                task = progress.add_task(timeline.id.key, total=None)
                try:
                    return await app.poll(timeline, lambda n, _pages: progress.update(task, completed=n))
                finally:
                    progress.remove_task(task)

            try:
                return list(await asyncio.gather(*(one(t) for t in timelines)))
            finally:
                if app.discord is not None:
                    await app.discord.close()  # else aiohttp reports an "Unclosed client session" at exit

        # Each result is printed below, once; the daemon's own report of it ("next try in 2m") would say it twice,
        # and there is no next try in a one-shot command. --log-level DEBUG shows it anyway.
        outcomes = logging.getLogger("bot.daemon.outcomes")
        level = outcomes.level
        if not outcomes.isEnabledFor(logging.DEBUG):
            outcomes.setLevel(logging.CRITICAL)
        try:
            results = asyncio.run(poll_all())
        finally:
            outcomes.setLevel(level)
    app.close()
    failed = 0
    for timeline, result in zip(timelines, results, strict=True):
        # Our own request budget holding a timeline back is not a failure of the source: it is read next time.
        deferred = result.error_kind == "deferred"
        errors = 0 if result.ok or deferred else 1
        line = (
            f"{timeline.id.key}: {result.new} new, {result.duplicate} duplicate, "
            f"{result.skipped} skipped, {errors} errors"
        )
        if deferred:
            wait = f", next try in {result.retry_after:.0f}s" if result.retry_after else ""
            line += f" (deferred: the instance's request budget is spent{wait})"
        elif not result.ok:
            failed += 1
            line += f" ({result.error_kind}: {result.error})"
        click.echo(line)
    if failed:
        sys.exit(1)


@cli.command()
@click.option("--servers", "ask_servers", is_flag=True,
              help="Also ask each instance what it runs and what Merkwacht can use there (network).")
@pass_context
def check(ctx: Context, ask_servers: bool) -> None:
    """Validate the config and show what would be watched."""
    config = ctx.config
    console = Console()
    # Every value from the config goes through escape(): Rich would take `[x]` in a term for markup and drop it.
    console.print(f"[green]{escape(str(ctx.config_path))}: valid[/green]  time zone {config.timezone}, storage "
                  f"{escape(_safe_url(config))}")
    console.print(
        f"poll every {format_duration(config.schedule.poll_interval)}, digest at "
        f"{config.schedule.digest_at:%H:%M}, first poll reaches back {format_duration(config.mastodon.backfill)}"
    )
    table = Table(title="Mastodon timelines")
    table.add_column("instance")
    table.add_column("token")
    table.add_column("hashtags")
    for instance in config.mastodon.instances:
        token = _token_state(instance) if instance.token_env or instance.token_file else "none (public timelines)"
        tags = " ".join(f"#{t}" for t in config.watched_hashtags(instance))
        table.add_row(escape(instance.url), token, escape(tags))
    console.print(table)
    brands = Table(title="Brands")
    for column in ("brand", "terms", "hashtags", "handles", "excluded"):
        brands.add_column(column)
    for brand in config.brands:
        brands.add_row(
            escape(brand.name),
            escape(", ".join(brand.terms)),
            escape(" ".join(f"#{t}" for t in brand.hashtags)),
            escape(" ".join(f"@{h}" for h in brand.handles)),
            escape(", ".join(brand.exclude)),
        )
    console.print(brands)
    if not config.mastodon.instances:
        console.print(f"[yellow]{escape('no [[mastodon.instances]]: nothing will be polled')}[/]")
    discord = config.discord
    table = Table(title="Discord")
    table.add_column("setting")
    table.add_column("value")
    table.add_row("token", _token_state(discord))
    table.add_row("digest channel", str(discord.digest_channel) if discord.digest_channel else
                  "[yellow]none: no digest is posted[/]")
    table.add_row("watched channels", " ".join(str(c) for c in discord.watch_channels) or "none")
    table.add_row("slash commands in servers", " ".join(str(g) for g in discord.guild_ids) or "none")
    table.add_row("API", escape(discord.api_base))
    console.print(table)
    if ask_servers:
        from bot.cli.servers import server_lines

        for line in server_lines(config):
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def _token_state(secret: Any) -> str:
    # Whether a token is there, and where it is read from: never the token itself.
    source = escape(secret.token_source())
    try:
        token = secret.token()
    except SecretError as exc:
        return f"[red]{escape(str(exc))}[/]"
    return f"set (from {source})" if token else f"[yellow]not set ({source})[/]"


def _safe_url(config: Config) -> str:
    from sqlalchemy.engine import make_url

    return make_url(config.storage.url).render_as_string(hide_password=True)


@cli.command()
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]),
    default=None,
    help="Only posts written at or after this (ISO date or date-time, in the config's time zone).",
)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option(
    "--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="File to write (default stdout)."
)
@click.option("--author", "authors", multiple=True, metavar="ACCOUNT",
              help="Only posts by this fediverse handle or Discord user id: what is stored about a person.")
@pass_context
def export(ctx: Context, since: datetime | None, fmt: str, output: TextIO, authors: tuple[str, ...]) -> None:
    """Write stored posts, oldest first, one per line."""
    from storage.db import Database
    from storage.export import iter_export_rows

    config = ctx.config
    since_utc = _since_utc(since, config)
    db = Database(config.storage.url, must_exist=True)
    try:
        with db.sessions() as session:
            wanted = [normalise_account(a) for a in authors]
            if wanted:
                logging.getLogger(__name__).info("export: the posts of %d account(s) asked for", len(wanted))
            rows = iter_export_rows(session, since_utc, wanted)
            if fmt == "jsonl":
                for row in rows:
                    output.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                writer = csv.DictWriter(output, CSV_COLUMNS, extrasaction="ignore")
                writer.writeheader()
                for row in rows:
                    writer.writerow(_flatten(row))
    finally:
        db.close()


@cli.command()
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The local calendar day (YYYY-MM-DD); default: yesterday in the config's time zone.")
@click.option("--dry-run", is_flag=True, help="Build the digest and show it instead of sending it.")
@click.option("--json", "as_json", is_flag=True,
              help="With --dry-run: print the exact message bodies POSTed to Discord, one JSON object per line.")
@click.option("--chart", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the chart PNG to this file.")
@click.option("--force-partial", is_flag=True,
              help="Send today's digest although the day is not over (it is recorded as sent: the full one is not).")
@pass_context
def digest(ctx: Context, day: datetime | None, dry_run: bool, as_json: bool, chart: Path | None,
           force_partial: bool) -> None:
    """Build the daily digest for a day and post it to the digest channel (once: a sent day is not sent again)."""
    from bot.digest.build import previous_local_day
    from bot.digest.days import DayRefused, check_digest_day
    from bot.digest.deliver import DigestService
    from bot.discord.connection import DiscordConnection
    from bot.discord.sink import DiscordSink
    from bot.watch.live import LiveWatchList
    from storage.db import Database

    config = ctx.config
    target = day.date() if day else previous_local_day(datetime.now(UTC), config.zone)
    try:
        check_digest_day(target, datetime.now(config.zone).date(), sending=not dry_run, force_partial=force_partial)
    except DayRefused as exc:
        raise click.BadParameter(str(exc).replace("preview it instead", "use --dry-run to look at it"),
                                 param_hint="--date") from None
    if chart is not None and not chart.parent.is_dir():
        raise click.BadParameter(f"{chart}: the folder {chart.parent} does not exist", param_hint="--chart")
    token = None if dry_run else config.discord.token()
    if not dry_run and (not token or config.discord.digest_channel is None):
        raise click.ClickException(
            f"cannot send: {'no Discord token in ' + str(config.discord.token_env) if not token else ''}"
            f"{' and ' if not token and config.discord.digest_channel is None else ''}"
            f"{'no [discord] digest_channel' if config.discord.digest_channel is None else ''}; "
            "use --dry-run to see the digest without sending it"
        )
    db = Database(config.storage.url, must_exist=True)
    try:
        # Brands and hashtags added or removed at run time count, as in the daemon's scheduled digest.
        effective = LiveWatchList(db, config).effective_config
        if dry_run:
            service = DigestService(effective, db)
            prepared, payloads = service.payloads(target, config.discord.digest_channel)
            if chart and prepared.chart:
                chart.write_bytes(prepared.chart)
            if as_json:
                for payload in payloads:
                    click.echo(json.dumps(payload, ensure_ascii=False))
            else:
                for index, payload in enumerate(payloads):
                    click.echo(f"--- message {index + 1}/{len(payloads)} ---\n{payload['content']}")
                    for embed in payload.get("embeds", []):
                        click.echo(f"\n## {embed.get('title', '')}\n{embed.get('description', '')}")
                        for field in embed.get("fields", []):
                            click.echo(f"{field['name']}:\n{field['value']}")
            return
        assert token is not None  # checked above, before the database was opened
        connection = DiscordConnection(token, config.discord.api_base)
        service = DigestService(effective, db, DiscordSink(connection, retries=config.discord.digest_retries))

        async def send() -> Any:
            try:
                return await service.deliver(target)
            finally:
                await connection.close()

        result = asyncio.run(send())
        if as_json:
            click.echo(json.dumps({"day": target.isoformat(), "channel_id": str(result.channel_id),
                                   "status": result.status, "message_ids": result.message_ids, "error": result.error}))
        else:
            sent = len(result.message_ids)
            click.echo(f"digest for {target}: {result.status.replace('_', ' ')}"
                       f" ({sent} message{'' if sent == 1 else 's'}){': ' + result.error if result.error else ''}")
        if result.status == "failed":
            sys.exit(1)
    finally:
        db.close()


def _since_utc(since: datetime | None, config: Config) -> datetime | None:
    if since is None or since.year < 1971:
        return None  # from the beginning of time: every post
    try:
        return since.replace(tzinfo=config.zone).astimezone(UTC)
    except OverflowError:
        raise click.BadParameter(f"{since:%Y-%m-%d} is out of range", param_hint="--since") from None


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    from storage.export import csv_safe

    flat = _flatten_fields(row)
    return {key: csv_safe(value) for key, value in flat.items()}


def _flatten_fields(row: dict[str, Any]) -> dict[str, Any]:
    flat = dict(row)
    flat.update(row["engagement"])
    flat["tags"] = " ".join(row["tags"])
    flat["brands"] = "; ".join(row["brands"])
    flat["topics"] = "; ".join(row["topics"])
    flat["sentiment"] = row["sentiment"]["label"]
    flat["sentiment_score"] = row["sentiment"]["score"]
    flat["sentiment_confidence"] = row["sentiment"]["confidence"]
    return flat


@cli.command()
@click.option("--cycles", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Poll cycles to run against the local server (1 to 50).")
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-output"),
    show_default=True,
    help="Where the demo database and its outputs go.",
)
def demo(cycles: int, output_dir: Path) -> None:
    """A self-contained tour: local Mastodon server, realistic posts, the real daemon code, what it stored."""
    try:
        from bot.demo.run import run_demo
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("mastodon_mock"):
            raise
        raise click.ClickException(
            "the demo needs its local servers: pip install 'merkwacht[demo]' (or, in a clone, pip install -e '.[demo]')"
        ) from None
    run_demo(output_dir, cycles=cycles, console=Console())


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Apply every pending migration (the daemon also does this on start)."""
    from storage.db import Database

    Database(ctx.config.storage.url).close()
    click.echo("database is up to date")


cli.add_command(watch)
cli.add_command(alerts)
cli.add_command(forget)
cli.add_command(status)
cli.add_command(worker)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    cli.main(args=list(argv) if argv is not None else None, prog_name="merkwacht")


if __name__ == "__main__":  # pragma: no cover
    logging.getLogger(__name__).debug("run as a module")
    main()
