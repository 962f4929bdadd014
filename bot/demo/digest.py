"""The demo's Discord half: a local Discord fake receives the daily digest, which is shown and saved to disk."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel

from bot.config import Config
from bot.demo.discord_fake import FakeDiscord

DEMO_DIGEST_CHANNEL = 123456789012345678
DEMO_WATCHED_CHANNEL = 234567890123456789
DEMO_CUSTOMER_MESSAGES = (
    ("sam", "Is Acme Coffee's oat latte back in stock? Asking for the whole office."),
    ("robin", "Ordered Acme beans twice and both bags arrived split open. Not happy."),
    ("kai", "@everyone the new Acme cold brew is lovely, **highly** recommend"),
)


def prepare_fake(fake: FakeDiscord) -> None:
    """A server with a watched support channel (with a few customer messages) and the digest channel."""
    fake.add_channel(DEMO_WATCHED_CHANNEL, name="support")
    fake.add_channel(DEMO_DIGEST_CHANNEL, name="digest")
    for author, text in DEMO_CUSTOMER_MESSAGES:
        fake.add_message(DEMO_WATCHED_CHANNEL, text, author=author)
    fake.add_message(DEMO_WATCHED_CHANNEL, "I am another bot, not a customer", author="helperbot", bot=True)


def with_discord(config: Config, fake: FakeDiscord, output_dir: Path) -> Config:
    """`config` with a `[discord]` section pointing at the fake; its token comes from a file, as a real one would."""
    token_file = output_dir / "discord-token"
    token_file.write_text("demo-token\n", encoding="utf-8")
    discord = config.discord.model_copy(update={
        "token_env": None, "token_file": token_file, "api_base": fake.url,
        "digest_channel": DEMO_DIGEST_CHANNEL, "watch_channels": [DEMO_WATCHED_CHANNEL],
    })
    return config.model_copy(update={"discord": discord})


def deliver_and_show(app: Any, fake: FakeDiscord, output_dir: Path, console: Console) -> None:
    """Send today's digest to the fake, print what it received, and save the payloads and the chart beside the db."""
    today = datetime.now(UTC).astimezone(app.config.zone).date()

    async def deliver() -> Any:
        try:
            return await app.digests.deliver(today)
        finally:
            if app.discord is not None:
                await app.discord.close()

    result = asyncio.run(deliver())
    received = [r for r in fake.received if r.channel_id == DEMO_DIGEST_CHANNEL]
    console.print(f"\n[bold]Daily digest[/] for {today}: {result.status}, {len(received)} message(s) received by the "
                  f"local Discord fake on {fake.url}" + (f" ({result.error})" if result.error else ""))
    for message in received:
        body = message.body
        text = [body.get("content", "")]
        for embed in body.get("embeds", []):
            text.append(f"\n== {embed.get('title', '')} ==\n{embed.get('description', '')}")
            text += [f"{f['name']}:\n{f['value']}" for f in embed.get("fields", [])]
        console.print(Panel("\n".join(text), title=f"message {message.message_id}", expand=False), markup=False)
        for name, content in message.files.items():
            (output_dir / name).write_bytes(content)
            console.print(f"[dim]chart saved: {output_dir / name}[/]")
    payloads = output_dir / f"digest-{today.isoformat()}.jsonl"
    payloads.write_text("".join(json.dumps(r.body, ensure_ascii=False) + "\n" for r in received), encoding="utf-8")
    console.print(f"[dim]payloads as POSTed: {payloads}; rejected by Discord's rules: {len(fake.rejected)}[/]")
