"""The daemon checks alerts right after a poll stores posts: a complaint read by a poll is alerted by that poll."""

from __future__ import annotations

from typing import Any

from bot.daemon.app import Application
from tests.alerts.helpers import CHANNEL, RecordingSink
from tests.ingest.helpers import BRANDS, make_config, poll_once


def test_a_complaint_stored_by_a_poll_is_alerted_before_the_poll_returns(sqlite_db: Any, mastodon: Any) -> None:
    mastodon.post("My Acme order never arrived and support ignores me. Terrible service! #acme")
    extra = BRANDS + f"\n[alerts]\nchannel = {CHANNEL}\nany_complaint = true\n"
    config = make_config(str(sqlite_db.engine.url), [mastodon.url], extra=extra)
    app = Application(config, db=sqlite_db)
    sink = RecordingSink()
    app.alerts.sink = sink
    poll_once(app)
    assert len(sink.sent) == 1
    assert "needs an answer now: a complaint" in sink.sent[0]["content"]
    poll_once(app)
    assert len(sink.sent) == 1, "a second poll finds nothing new and alerts nothing twice"
