"""Logging set-up: plain lines for people, JSON lines for log collectors."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

REDACTED = "[redacted]"
"""What a secret is replaced with in a log line."""

_SECRET_PATTERNS = (
    # Discord webhook URLs carry their own token: whoever has the URL can post.
    re.compile(r"(https?://(?:[\w-]+\.)?discord(?:app)?\.com/api/(?:v\d+/)?webhooks/\d+/)[\w.-]+", re.IGNORECASE),
    re.compile(r"((?:Bearer|Bot)\s+)[\w.~+/=-]{8,}", re.IGNORECASE),
    re.compile(r"((?:access_token|token|password|secret)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,}]{4,}", re.IGNORECASE),
    # A Discord bot token: three base64url parts, the first the bot's id.
    re.compile(r"()[MNO][\w-]{23,27}\.[\w-]{6}\.[\w-]{27,}"),
    # The password in a database URL.
    re.compile(r"(\w+(?:\+\w+)?://[^:/@\s]+:)[^@\s]+(?=@)"),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with known secret values and anything shaped like a token, webhook URL or URL password replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record so no token, webhook URL or password reaches a log line, the traceback included."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        """Exact values to hide (the configured tokens), in addition to the token-shaped patterns."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the message and the exception text in place; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def hide_secrets(values: Iterable[str | None]) -> None:
    """Tell the log handlers set up by `setup_logging` these exact values (tokens read from the config) to hide."""
    wanted = {v for v in values if v and len(v) >= 4}
    for handler in logging.getLogger().handlers:
        for flt in handler.filters:
            if isinstance(flt, RedactingFilter):
                flt.secrets |= wanted


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            # exc_text is the traceback the redacting filter already cleaned.
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _no_voice_warnings(record: logging.LogRecord) -> bool:
    # discord.py warns at every login that voice support is missing; Merkwacht never uses voice.
    return not (record.name == "discord.client" and "voice will NOT be supported" in record.getMessage())


def _quiet_cancellation(record: logging.LogRecord) -> bool:
    # At shutdown APScheduler cancels the jobs still running and logs each as an ERROR with a CancelledError
    # traceback. The cancellation is ours (SIGTERM) and harmless (a page being stored is shielded and commits whole):
    # it becomes one INFO line, and is dropped under the handler's INFO threshold when that is higher.
    if record.name.startswith("apscheduler") and record.exc_info and record.exc_info[0] is asyncio.CancelledError:
        record.msg, record.args = "%s: stopped at shutdown; its next run reads on from the stored cursor", (
            record.getMessage().split(" (trigger:", 1)[0].removeprefix("Job ").strip('"'),
        )
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return logging.getLogger().isEnabledFor(logging.INFO)
    return True


def setup_logging(level: str = "INFO", fmt: str = "plain") -> None:
    """Send Merkwacht's logs to stderr at `level`; chatty libraries are held at WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    handler.addFilter(_no_voice_warnings)
    handler.addFilter(_quiet_cancellation)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("alembic", "apscheduler", "urllib3", "httpx", "uvicorn", "discord", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
