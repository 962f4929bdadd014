"""The daemon's memory at rest: `merkwacht run` as its own process, watching a local Mastodon server, sampled.

    python bench/idle_memory.py [--hashtags 50] [--posts 200] [--seconds 60]

A mastodon-mock server (in this process) gets `--posts` brand posts spread over the watched hashtags; the daemon (a
child process, so only its own memory is read) polls every hashtag every 10 s with analysis, the metrics endpoint
and the alerts on, for `--seconds`. Printed: its resident memory (VmRSS) after start-up, after the first polls, and
at the end, and the peak (VmHWM). The target in issue #11 is <= 200 MB at rest.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.demo.run import local_mastodon  # noqa: E402  (the demo's server: its accounts opted in to search)


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def main() -> int:
    """Run the daemon against a seeded server and print its memory."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hashtags", type=int, default=50)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()

    with local_mastodon() as server, tempfile.TemporaryDirectory() as tmp:
        tags = [f"tag{i}" for i in range(args.hashtags)]
        client = server.client(token="demo-sanne")
        moods = ("Love my Acme coffee, great service!", "Acme lost my parcel again. Terrible.", "Is Acme open?")
        for i in range(args.posts):
            client.status_post(f"{moods[i % 3]} #{tags[i % len(tags)]}")
        config = Path(tmp) / "config.toml"
        config.write_text(
            f'[storage]\nurl = "sqlite:///{tmp}/idle.db"\n'
            "[ops]\nhttp_enabled = true\nhttp_port = 0\n"
            '[schedule]\npoll_interval = "10s"\npoll_jitter = "2s"\n'
            f'[mastodon]\nbackfill = "1h"\nhashtags = {tags!r}\n[[mastodon.instances]]\nurl = "{server.base_url}"\n'
            '[[brands]]\nname = "Acme"\nterms = ["Acme"]\n',
            encoding="utf-8",
        )
        command = [sys.executable, "-m", "bot.cli.main", "--config", str(config), "--log-level", "warning", "run"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        daemon = subprocess.Popen(command, cwd=tmp, env=env)
        try:
            time.sleep(5)
            started = memory(daemon.pid)
            time.sleep(15)
            polled = memory(daemon.pid)
            time.sleep(max(0, args.seconds - 20))
            end = memory(daemon.pid)
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=60)
        with sqlite3.connect(f"{tmp}/idle.db") as db:
            (stored,) = db.execute("SELECT count(*) FROM posts").fetchone()
    print(
        f"daemon watching {args.hashtags} hashtags on one instance ({args.posts} posts), polled every 10 s, "
        f"{args.seconds} s:\n"
        f"  RSS after start-up {started['VmRSS']:.0f} MiB, after the first polls {polled['VmRSS']:.0f} MiB, "
        f"at the end {end['VmRSS']:.0f} MiB; peak {end['VmHWM']:.0f} MiB (target: <= 200 MB at rest); "
        f"{stored} posts stored; exit code {code}"
    )
    return 0 if code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
