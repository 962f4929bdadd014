"""Logs never show a secret: configured tokens, bearer headers, webhook URLs and database passwords are redacted."""

from __future__ import annotations

import json
import logging

import pytest

from bot.ops.logs import REDACTED, hide_secrets, setup_logging


def test_secrets_are_redacted_in_messages_and_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "json")
    hide_secrets(["s3cret-instance-token"])
    log = logging.getLogger("merkwacht.test")
    log.warning("posting to %s", "https://discord.com/api/webhooks/123456/AbCdEf-123_x")
    log.info("headers {'Authorization': 'Bearer abcdefghijklmnop'} and postgresql://merkwacht:hunter2@db/merkwacht")
    try:
        raise RuntimeError("the instance refused s3cret-instance-token")
    except RuntimeError:
        log.exception("poll failed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    logging.getLogger().handlers.clear()

    text = json.dumps(lines)
    for secret in ("AbCdEf-123_x", "abcdefghijklmnop", "hunter2", "s3cret-instance-token"):
        assert secret not in text
    assert text.count(REDACTED) == 5
    assert lines[2]["exception"].startswith("Traceback"), "the traceback is kept, only the secret goes"


def test_a_job_cancelled_at_shutdown_is_one_info_line_not_an_error_with_a_traceback() -> None:
    import asyncio
    import io

    root = logging.getLogger()
    saved = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        setup_logging("INFO")
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        try:
            raise asyncio.CancelledError
        except asyncio.CancelledError:
            logging.getLogger("apscheduler.executors.default").error(
                'Job "%s" raised an exception', "poll mastodon:https://m.example#koffie (trigger: interval[0:05:00])",
                exc_info=True,
            )
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    out = stream.getvalue()
    assert "INFO" in out and "poll mastodon:https://m.example#koffie: stopped at shutdown" in out
    assert "Traceback" not in out and "ERROR" not in out
