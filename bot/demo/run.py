"""`merkwacht demo`: the real daemon against a local Mastodon server, with no account and no token.

It starts `mastodon-mock` on 127.0.0.1, writes a realistic mix of posts in waves, lets the real scheduler
poll it for a few cycles, and shows what was stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from mastodon_mock.config import SeedAccount, SeedConfig
from mastodon_mock.testing.server import MockServer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select

from bot.config import Config, parse_config
from bot.daemon.app import Application
from bot.demo.data import ACCOUNTS, DEMO_CONFIG, POSTS
from bot.demo.digest import deliver_and_show, prepare_fake, with_discord
from bot.demo.discord_fake import running_in_thread
from storage.export import iter_export_rows
from storage.models import PostRow

DEMO_POLL_SECONDS = 2.0
"""The demo polls faster than a real config may (10 s minimum), so a tour takes seconds."""


@contextmanager
def local_mastodon() -> Iterator[Any]:
    """A mastodon-mock server on a free 127.0.0.1 port, seeded with the demo accounts."""
    seed = SeedConfig(
        accounts=[
            SeedAccount(
                username=a.username, display_name=a.display_name, note=a.note, access_token=f"demo-{a.username}"
            )
            for a in ACCOUNTS
        ]
    )
    with MockServer(seed=seed) as server:
        _opt_in_to_search(server)
        yield server


def _opt_in_to_search(server: Any) -> None:
    # mastodon-mock creates every account with `indexable: false` and cannot change it through its API; Merkwacht
    # stores nothing from accounts that did not opt in, so the demo's accounts tick the box, as real posters do.
    from mastodon_mock.db.models import Account

    with server._server.config.app.state.session_factory() as session:
        for account in session.query(Account):
            account.indexable = True
        session.commit()


def write_wave(server: Any, wave: int) -> int:
    """Post the demo posts of `wave` (with their favourites and boosts); returns how many were written."""
    clients: dict[str, Any] = {}

    def client(username: str) -> Any:
        if username not in clients:
            clients[username] = server.client(token=f"demo-{username}")
        return clients[username]

    written = 0
    for post in POSTS:
        if post.wave != wave:
            continue
        status = client(post.account).status_post(post.text, language=post.language)
        for fan in post.favourites:
            client(fan).status_favourite(status["id"])
        for booster in post.boosts:
            client(booster).status_reblog(status["id"])
        written += 1
    return written


def demo_config(output_dir: Path, mastodon_url: str) -> Config:
    """The demo's config, as a user would write it, pointed at the local server."""
    text = DEMO_CONFIG.format(db=(output_dir / "demo.db").resolve().as_posix(), mastodon_url=mastodon_url)
    config = parse_config(text)
    schedule = config.schedule.model_copy(
        update={"poll_interval": timedelta(seconds=DEMO_POLL_SECONDS), "poll_jitter": timedelta(0)}
    )
    return config.model_copy(update={"schedule": schedule})


async def _run_cycles(app: Application, server: Any, cycles: int, console: Console) -> None:
    stop = asyncio.Event()
    runner = asyncio.create_task(app.run(stop))
    waves = max(p.wave for p in POSTS) + 1
    for cycle in range(cycles):
        await asyncio.sleep(DEMO_POLL_SECONDS + 0.8)
        console.print(f"[dim]cycle {cycle + 1}: {_count(app)} posts stored[/]")
        if cycle + 1 < waves:
            written = await asyncio.to_thread(write_wave, server, cycle + 1)
            console.print(f"[dim]  … {written} new posts appear on the server[/]")
    stop.set()
    await runner


def _count(app: Application) -> int:
    with app.db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(PostRow)) or 0)


def show_posts(app: Application, console: Console) -> None:
    """A table of every stored post: who, which brand, what kind of post."""
    table = Table(title="What Merkwacht stored", show_lines=False, expand=True)
    for column, style in (
        ("when", "dim"),
        ("author", "cyan"),
        ("brands", "magenta"),
        ("lang", ""),
        ("sentiment", ""),
        ("type", "bold"),
        ("♥/⇄", ""),
        ("text", ""),
    ):
        table.add_column(column, style=style or None, overflow="fold" if column == "text" else "ellipsis")
    zone = app.config.zone
    with app.db.sessions() as session:
        for row in iter_export_rows(session):
            from datetime import datetime

            when = datetime.fromisoformat(row["created_at"]).astimezone(zone).strftime("%H:%M:%S")
            sentiment = row["sentiment"]["label"] or "–"
            colour = {"positive": "green", "negative": "red"}.get(sentiment, "white")
            engagement = row["engagement"]
            table.add_row(
                when,
                row["author"],
                ", ".join(row["brands"]) or "–",
                row["language"] or "?",
                f"[{colour}]{sentiment}[/]",
                row["cx"] or "–",
                f"{engagement['favourites']}/{engagement['boosts']}",
                row["text"][:140],
            )
    console.print(table)


def run_demo(output_dir: Path, *, cycles: int = 3, console: Console | None = None) -> Path:
    """Run the whole tour; returns the path of the demo database."""
    console = console or Console()
    output_dir.mkdir(parents=True, exist_ok=True)
    database = output_dir / "demo.db"
    for stale in output_dir.glob("demo.db*"):
        stale.unlink()
    with local_mastodon() as server, running_in_thread() as discord_fake:
        prepare_fake(discord_fake)
        console.print(f"[bold]Local Discord fake[/] on {discord_fake.url}: a #support channel to watch, "
                      "and a #digest channel")
        console.print(f"[bold]Local Mastodon server[/] (mastodon-mock) on {server.base_url}")
        written = write_wave(server, 0)
        console.print(f"{written} posts written before Merkwacht starts; it backfills the last 24h on its first poll")
        app = Application(with_discord(demo_config(output_dir, server.base_url), discord_fake, output_dir))
        console.print(f"watching {len(app.timelines())} timelines: " + ", ".join(t.id.label for t in app.timelines()))
        asyncio.run(_run_cycles(app, server, cycles, console))
        app = Application(with_discord(demo_config(output_dir, server.base_url), discord_fake, output_dir))
        show_posts(app, console)
        with app.db.sessions() as session:
            from storage.health import all_health

            for health in all_health(session):
                where = health.timeline.label
                polls, errors = _plural(health.total_polls, "poll"), _plural(health.total_errors, "error")
                console.print(
                    f"[dim]{escape(where)}: {polls}, {health.posts_new} new, "
                    f"{health.posts_skipped} skipped (author opted out, or not storable), {errors}[/]"
                )
        deliver_and_show(app, discord_fake, output_dir, console)
        app.close()
    console.print(
        f"\nThe demo's database is at {database}.\n"
        "For your own brands: cp config.example.toml config.toml, edit it, then `merkwacht check` (validates it and "
        "shows what will be watched) and `merkwacht run`. Tokens go in environment variables, never in the file."
    )
    return database


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
