"""A local cluster for the scale-out tests and benchmark: `merkwacht worker` processes on one PostgreSQL database,
mock instances behind proxies that log every request (to check the budgets from the server's side), a fake Discord."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.sources.mastodon.ratelimit import is_paging
from tests.scale.anyshim import AnyShim

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Request:
    """One request an instance received: when, whether it was a paging one, and the answer's status."""

    at: float
    paging: bool
    status: int
    path: str = ""


class LoggingProxy(AnyShim):
    """A proxy in front of a mock instance that logs every request it passes on, each answered after `latency`
    seconds (a real instance is not on this machine: its answers take a while, and a poll is mostly waiting)."""

    def __init__(self, target: str, latency: float = 0.0) -> None:
        super().__init__(target)
        self.latency = latency
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def _get(self, handler: Any) -> None:
        query = parse_qsl(urlsplit(handler.path).query)
        status = [200]
        original = handler.send_response

        def send_response(code: int, message: str | None = None) -> None:
            status[0] = code
            original(code, message)

        handler.send_response = send_response
        time.sleep(self.latency)
        try:
            super()._get(handler)
        finally:
            with self._lock:
                paging = is_paging(k.split("[")[0] for k, _ in query)
                self.requests.append(Request(time.time(), paging, status[0], urlsplit(handler.path).path))

    def most_in_any_window(self, window: float, *, paging: bool = False) -> int:
        """The most requests (paging requests) in any `window` seconds: what Mastodon's limits count."""
        with self._lock:
            times = sorted(r.at for r in self.requests if r.paging or not paging)
        most, first = 0, 0
        for last, at in enumerate(times):
            while times[first] <= at - window:
                first += 1
            most = max(most, last - first + 1)
        return most


def write_config(path: Path, db_url: str, instances: Sequence[str], tags: Sequence[str], *,
                 discord_api: str | None = None, channel: int | None = None, poll_interval: str = "20s") -> Path:
    """A config for the workers: every tag on every instance, the digest to `channel` through `discord_api`."""
    blocks = "".join(f'\n[[mastodon.instances]]\nurl = "{url}"\n' for url in instances)
    discord = (f'\n[discord]\ntoken_env = "MERKWACHT_TEST_DISCORD_TOKEN"\napi_base = "{discord_api}"\n'
               f"digest_channel = {channel}\n") if discord_api else ""
    path.write_text(
        f'timezone = "Europe/Amsterdam"\n[storage]\nurl = "{db_url}"\n'
        f'[schedule]\npoll_interval = "{poll_interval}"\n'
        f'[mastodon]\nhashtags = [{", ".join(json.dumps(t) for t in tags)}]\n'
        f'backfill = "24h"\n{blocks}{discord}'
    )
    return path


class Workers:
    """`merkwacht worker` processes on one config, each logging to its own file."""

    def __init__(self, config: Path, logs: Path, *, stalled_after: float = 5.0, concurrency: int = 4) -> None:
        self.config = config
        self.logs = logs
        self.stalled_after = stalled_after
        self.concurrency = concurrency
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        """One more worker."""
        log = self.logs / f"worker-{len(self.processes)}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MERKWACHT_TEST_DISCORD_TOKEN": "test-token"}
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "--config", str(self.config), "--log-level", "INFO", "worker",
             "--stalled-after", str(self.stalled_after), "--concurrency", str(self.concurrency)],
            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )
        self.processes.append(process)
        return process

    def log(self, process: subprocess.Popen[bytes]) -> str:
        """What a worker has logged so far."""
        return (self.logs / f"worker-{self.processes.index(process)}.log").read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM every worker still alive and wait for it (procrastinate lets running jobs finish)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
