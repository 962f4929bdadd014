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
