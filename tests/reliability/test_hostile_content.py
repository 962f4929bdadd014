"""Hostile posts: stored faithfully, shown safely in the digest, and nobody is ever pinged.

The posts come through the real path: a status as the local Mastodon server serialises it, with its content replaced by
what an attacker (or an unlucky user) writes, read by the ingest loop, stored, then rendered and sent to the local
Discord fake by the digest service.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.daemon.app import Application
from bot.demo.discord_fake import FakeDiscord, running_in_thread
from bot.model import SourceKind, TimelineId
from bot.sources.base import Page
from bot.sources.mastodon.timeline import page_from_statuses
from tests.ingest.helpers import stored
from tests.reliability.helpers import config_for

CHANNEL = 1300000000000000002
TOKEN_ENV = "MERKWACHT_HOSTILE_DISCORD_TOKEN"

HOSTILE = {
    "everyone": "<p>@everyone @here Acme is giving away free coffee!</p>",
    "role": "<p>Acme support is useless &lt;@&amp;123456789012345678&gt; please fix</p>",
    "user": "<p>Hey &lt;@123456789012345678&gt; look at Acme</p>",
    "markdown": "<p>**Acme** __is__ ~~great~~ `code` ||spoiler|| # Heading &gt; quote</p>",
    "masked link": "<p>[Acme official refund](https://evil.example/phish) and [click](<https://x.example>)</p>",
    "huge html": "<p>Acme " + "<span class=\"x\"><b>spam</b></span> " * 3000 + "</p>",
    "zalgo": "<p>Acme Z\u0351\u0344\u0350a\u0352\u0300\u0301l\u0315\u0316g\u0317\u0318o\u0319\u031a coffee</p>",
    "bidi": "<p>Acme \u202etxt.exe\u202c \u2066isolated\u2069 refund</p>",
    "surrogate": "<p>Acme broken \ud83d text \udc00 here</p>",
}


class CannedTimeline:
    """A timeline that answers with the given statuses once, then nothing: the server side of the test."""

    def __init__(self, origin: str, statuses: list[dict[str, Any]]) -> None:
        self.id, self._statuses = TimelineId(SourceKind.MASTODON, origin, "koffie"), statuses

    async def older(self, before_id: str | None) -> Page:
        return page_from_statuses(self._statuses, self.id.server) if before_id is None else Page()

    async def newer(self, after_id: str) -> Page:
        return Page()


def hostile_statuses(mastodon: Any) -> list[dict[str, Any]]:
    """One real status from the server per hostile content, each with its own id and uri."""
    template = json.loads(json.dumps(mastodon.post("Acme #koffie"), default=str))
    out = []
    for n, (name, content) in enumerate(HOSTILE.items(), start=1):
        status = dict(template, id=str(10_000 + n), uri=f"{mastodon.url}/statuses/hostile-{n}", content=content)
        status["created_at"] = datetime.now(UTC) - timedelta(minutes=n)
        status["url"] = status["uri"]
        status["_name"] = name
        out.append(status)
    return out


def test_hostile_posts_are_stored_faithfully_and_the_digest_pings_nobody(sqlite_db: Any, mastodon: Any) -> None:
    statuses = hostile_statuses(mastodon)
    fake = FakeDiscord()
    fake.add_channel(CHANNEL, name="digest")
    os.environ[TOKEN_ENV] = "hostile-test-token"
    try:
        with running_in_thread(fake):
            extra = (f'[discord]\ntoken_env = "{TOKEN_ENV}"\napi_base = "{fake.url}"\ndigest_channel = {CHANNEL}\n'
                     '[[brands]]\nname = "Acme"\nterms = ["Acme"]\n')
            app = Application(config_for(str(sqlite_db.engine.url), [mastodon.url], extra=extra), db=sqlite_db)

            async def ingest_and_send() -> Any:
                result = await app.ingestor.poll(CannedTimeline(mastodon.url, statuses), backfill=timedelta(days=1))
                today = datetime.now(app.config.zone).date()
                delivery = await app.digests.deliver(today)
                if app.discord is not None:
                    await app.discord.close()
                return result, delivery

            result, delivery = asyncio.run(ingest_and_send())
            app.close()
    finally:
        del os.environ[TOKEN_ENV]

    assert result.ok and result.new == len(HOSTILE), result.error
    rows = stored(app, "SELECT uri, text FROM posts WHERE uri LIKE '%hostile%'")
    texts = {r.uri.rsplit("-", 1)[-1]: r.text for r in rows}
    by_name = {s["_name"]: texts[s["uri"].rsplit("-", 1)[-1]] for s in statuses}
    assert "@everyone @here" in by_name["everyone"], "stored as written"
    assert "<@&123456789012345678>" in by_name["role"] and "<@123456789012345678>" in by_name["user"]
    assert "[Acme official refund](https://evil.example/phish)" in by_name["masked link"]
    assert by_name["huge html"].count("spam") == 3000, "100 KB of markup kept as its text"
    assert "\u202e" in by_name["bidi"] or "txt.exe" in by_name["bidi"]
    assert "Acme broken" in by_name["surrogate"]

    assert delivery.status == "sent", delivery.error
    assert fake.rejected == [], "every payload met Discord's limits and schema"
    sent = [r.body for r in fake.received if r.channel_id == CHANNEL]
    assert sent
    for body in sent:
        assert body.get("allowed_mentions") == {"parse": []} or body.get("allowed_mentions", {}).get("parse") == []
        shown = json.dumps({k: body.get(k) for k in ("content", "embeds")}, ensure_ascii=False)
        assert not re.search(r"(?<!\u200b)@(everyone|here)", shown.replace("@\u200b", "")), "no mass mention"
        assert not re.search(r"<@[&!]?\d+>", shown), "no user or role mention can form"
        assert "](https://evil.example" not in shown, "no masked link"


def test_bidi_overrides_zalgo_and_lone_surrogates_cannot_garble_a_digest_line() -> None:
    from bot.digest.render import excerpt

    shown = excerpt("Acme \u202etxt.exe\u202c \u2066refund\u2069 z\u0301\u0302\u0303\u0304\u0305a \ud83d")

    assert shown == "Acme txt.exe refund z\u0301\u0302a \ufffd"


def test_a_hostile_status_id_is_logged_escaped_and_cut_and_the_status_is_recorded_in_full(caplog: Any) -> None:
    hostile = "9" * 4000 + "\nFAKE LOG LINE"
    caplog.set_level("WARNING", logger="bot.sources.mastodon.timeline")

    page = page_from_statuses([{"id": hostile, "uri": "https://evil.example/1"}], "https://mastodon.example")

    assert [r.remote_id for r in page.rejected] == [hostile]
    (line,) = [r.getMessage() for r in caplog.records]
    assert "\n" not in line, "a newline in an id cannot start a forged log line"
    assert len(line) < 400 and "…" in line, "a long id cannot flood the log"
