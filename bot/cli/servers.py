"""`merkwacht check --servers`: ask each configured instance what it runs and what Merkwacht can use there."""

from __future__ import annotations

from bot.config import Config
from bot.sources.mastodon.instance import describe, read_server_info, requests_fetch
from bot.sources.mastodon.timeline import make_client, user_agent

CHECK_TIMEOUT = 10.0
"""Seconds per request: `check` is interactive, so a dead server is reported rather than waited for."""


def server_lines(config: Config) -> list[str]:
    """One block of lines per instance: software, version, bulk reads, streaming, hashtag feed access."""
    timeout = min(config.mastodon.request_timeout.total_seconds(), CHECK_TIMEOUT)
    lines = ["What each instance runs:"]
    for instance in config.mastodon.instances:
        token = instance.token()
        client = make_client(instance.url, token, timeout, user_agent(config.mastodon.contact))
        try:
            info = read_server_info(instance.url, requests_fetch(client))
        finally:
            client.session.close()
        lines += describe(info, has_token=bool(token))
    return lines
