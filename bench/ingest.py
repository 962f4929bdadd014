"""Ingest throughput: realistic statuses through normalise -> match (1,000 brand terms) -> analyse -> store.

Prints posts/s and peak RSS for Merkwacht's pipeline and for a naive baseline (a regex per term per post and a
commit per post), each measured in its own process so their peak memory does not mix.

    python bench/ingest.py [--posts 100000] [--baseline-posts 10000] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import BrandConfig, parse_config
from bot.ingest.ingestor import PAGES_PER_TRANSACTION
from bot.ingest.matching import BrandMatcher
from bot.model import SourceKind, TimelineId
from bot.sources.mastodon.timeline import PAGE_SIZE, page_from_statuses

POSTGRES_URL = os.environ.get("MERKWACHT_TEST_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432/test")

WORDS_NL = [
    *("koffie", "lekker", "vandaag", "bestelling", "wacht", "nog", "steeds"),
    *("niet", "geleverd", "klantenservice", "top", "slecht", "prijs", "duur"),
]
WORDS_EN = [
    *("coffee", "great", "today", "order", "still", "waiting", "delivered"),
    *("support", "awesome", "broken", "refund", "price", "expensive"),
]
EMOJI = ["☕", "😍", "😡", "👍", "🙄", "🚲", ""]

TIMELINE = TimelineId(SourceKind.MASTODON, "https://instance0.example", "koffie")


def brands(count_terms: int = 1000) -> list[BrandConfig]:
    """500 brands with two terms each: 1,000 terms."""
    return [
        BrandConfig(name=f"Brand{i}", terms=[f"Brand{i}", f"Product {i} Pro"], hashtags=[f"brand{i}"])
        for i in range(count_terms // 2)
    ]


def make_statuses(n: int, seed: int = 7, first: int = 0) -> list[dict[str, Any]]:
    """Raw Mastodon API statuses with HTML content, mentions of random brands in about a third of them."""
    rng = random.Random(seed * 1_000_003 + first)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(first, first + n):
        words = rng.sample(WORDS_NL if i % 2 else WORDS_EN, 8)
        if i % 3 == 0:
            words.insert(rng.randrange(8), f"Brand{rng.randrange(500)}")
        tag = f"brand{rng.randrange(500)}" if i % 5 == 0 else "koffie"
        text = " ".join(words)
        created = start + timedelta(seconds=i * 7)
        out.append(
            {
                "id": str(10**17 + i),
                "uri": f"https://instance{i % 7}.example/users/u{i % 997}/statuses/{10**17 + i}",
                "url": f"https://instance{i % 7}.example/@u{i % 997}/{10**17 + i}",
                "created_at": created.isoformat().replace("+00:00", "Z"),
                "edited_at": None,
                "content": (
                    f'<p>{text} {rng.choice(EMOJI)} <a href="https://x.example/tags/{tag}" '
                    f'class="mention hashtag">#<span>{tag}</span></a></p>'
                ),
                "language": "nl" if i % 2 else "en",
                "tags": [{"name": tag, "url": f"https://x.example/tags/{tag}"}],
                "mentions": [],
                "account": {
                    "acct": f"u{i % 997}@instance{i % 7}.example",
                    "display_name": f"User {i % 997}",
                    "url": f"https://instance{i % 7}.example/@u{i % 997}",
                    "followers_count": rng.randrange(5000),
                    "bot": False,
                    "note": "",
                    "noindex": False,
                },
                "replies_count": rng.randrange(5),
                "reblogs_count": rng.randrange(10),
                "favourites_count": rng.randrange(30),
                "sensitive": False,
                "spoiler_text": "",
                "in_reply_to_id": None,
                "reblog": None,
            }
        )
    return out


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_merkwacht(
    n: int, url: str, analysis: bool = True, heap: bool = False, language_check: bool = True, compiled: bool = True
) -> dict[str, Any]:
    """Merkwacht's pipeline, page by page as a poll stores them (posts and cursor in one transaction)."""
    from bot.daemon.app import build_analyser
    from bot.ingest.language_check import LanguageCheck
    from bot.ingest.pipeline import Pipeline
    from bot.ops.memory import freeze_startup_objects, tune_heap
    from storage.cursors import Cursor, save_cursor
    from storage.db import Database
    from storage.posts import store_posts

    if heap:
        tune_heap()  # as `merkwacht run` does at start with `[ops] tune_heap = true`
    db = Database(url)
    # The analyser knows the brands, as the daemon's does: their names carry no sentiment.
    config = parse_config('[analysis]\nlanguages = ["nl", "en"]').model_copy(update={"brands": brands()})
    # As the daemon does: a declared language is checked against the text before the analysis relies on it.
    check = LanguageCheck(config.analysis.languages) if analysis and language_check else None
    if analysis and not compiled:
        from bot.analysis import Analyser
        from bot.analysis.linear import LinearModel

        # The daemon's analyser (build_analyser's arguments), with the numpy scorer.
        analyser = Analyser(config.analysis, config.topics, brands=config.brands, watched=config.own_hashtags(),
                            model=LinearModel.load(compiled=False))
    else:
        analyser = build_analyser(config) if analysis else None
    pipeline = Pipeline(BrandMatcher(config.brands), analyser, language_check=check)
    freeze_startup_objects()  # as `merkwacht run` does once the application is built
    stored = 0
    # Pages are made as they are needed, the way polls receive them, and only the pipeline's work is timed:
    # holding all the input at once would measure the benchmark's own memory and garbage collection. Pages are
    # stored as the poll loop stores them while catching up: PAGES_PER_TRANSACTION of them with their cursor.
    batch: list[Any] = []
    stages = {"normalise": 0.0, "match+analyse": 0.0, "store": 0.0}
    cpu = 0.0
    for i in range(0, n, PAGE_SIZE):
        statuses = make_statuses(min(PAGE_SIZE, n - i), first=i)
        c0 = time.process_time()
        t0 = time.perf_counter()
        page = page_from_statuses(statuses, "https://instance0.example")
        batch += page.posts
        t1 = t2 = time.perf_counter()
        if (i // PAGE_SIZE + 1) % PAGES_PER_TRANSACTION == 0 or i + PAGE_SIZE >= n:
            processed = pipeline.process(batch)
            t2 = time.perf_counter()
            with db.transaction() as session:
                stored += store_posts(session, processed.posts).new
                cursor = Cursor(page.newest_id, None, True)
                save_cursor(session, TIMELINE, cursor)
            batch = []
        t3 = time.perf_counter()
        cpu += time.process_time() - c0
        stages["normalise"] += t1 - t0
        stages["match+analyse"] += t2 - t1
        stages["store"] += t3 - t2
    busy = sum(stages.values())
    db.close()
    return {
        "variant": "merkwacht",
        "posts": n,
        "stored": stored,
        "seconds": busy,
        "posts_per_s": n / busy,
        "peak_rss_mb": peak_rss_mb(),
        "analysis": pipeline.analyser is not None,
        "compiled": compiled,
        "us_per_post": {k: round(v / n * 1e6, 1) for k, v in stages.items()},
        # CPU time is steadier than wall time on a shared VM, where other guests take cycles now and then.
        "cpu_posts_per_s": n / cpu,
    }


def run_baseline(n: int, url: str) -> dict[str, Any]:
    """The obvious first version: a compiled regex per term tried on every post, one commit per post."""
    from storage.db import Database
    from storage.models import MentionRow, PostRow

    db = Database(url)
    patterns = [(b.name, re.compile(rf"\b{re.escape(t)}\b", re.IGNORECASE)) for b in brands() for t in b.terms]
    now = datetime.now(UTC)
    busy = 0.0
    for i in range(0, n, PAGE_SIZE):
        statuses = make_statuses(min(PAGE_SIZE, n - i), first=i)
        started = time.perf_counter()
        for status in statuses:
            [post] = page_from_statuses([status], "https://instance0.example").posts
            found = {name for name, pattern in patterns if pattern.search(post.text)}
            with db.transaction() as session:
                row = PostRow(
                    uri=post.uri,
                    source="mastodon",
                    origin=post.origin,
                    url=post.url,
                    author_handle=post.author.handle,
                    created_at=post.created_at,
                    first_seen_at=now,
                    updated_at=now,
                    text=post.text,
                    language=post.language,
                )
                session.add(row)
                session.flush()
                for name in found:
                    session.add(
                        MentionRow(post_id=row.id, brand=name, kind="term", matched=name, created_at=post.created_at)
                    )
        busy += time.perf_counter() - started
    db.close()
    return {
        "variant": "baseline",
        "posts": n,
        "stored": n,
        "seconds": busy,
        "posts_per_s": n / busy,
        "peak_rss_mb": peak_rss_mb(),
    }


def _fresh_url(kind: str, tmp: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / (name + '.db')}"
    from sqlalchemy import create_engine, text

    schema = f"bench_{name}_{os.getpid()}"
    with create_engine(POSTGRES_URL).begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def main() -> None:
    """Run both variants in child processes and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument(
        "--baseline-posts",
        type=int,
        default=10_000,
        help="the baseline commits per post; a smaller run gives its rate in reasonable time",
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--no-analysis", action="store_true", help="leave out the analysis stage (issue 4) as well")
    parser.add_argument("--no-language-check", action="store_true",
                        help="leave out the check of declared languages against the text (issue 12)")
    parser.add_argument("--tune-heap", action="store_true", help="with the opt-in heap settings ([ops] tune_heap)")
    parser.add_argument("--no-compiled", action="store_true",
                        help="score posts with numpy even where the C scorer (bot.analysis._speedups) is built")
    parser.add_argument("--variant", choices=["merkwacht", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        if args.variant == "merkwacht":
            print(json.dumps(run_merkwacht(args.posts, args.url, analysis=not args.no_analysis, heap=args.tune_heap,
                                           language_check=not args.no_language_check,
                                           compiled=not args.no_compiled)))
        else:
            print(json.dumps(run_baseline(args.posts, args.url)))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant, n in (("merkwacht", args.posts), ("baseline", args.baseline_posts)):
            url = _fresh_url(args.db, Path(tmp), variant)
            out = subprocess.run(
                [sys.executable, __file__, "--variant", variant, "--posts", str(n), "--url", url]
                + (["--no-analysis"] if args.no_analysis else [])
                + (["--no-language-check"] if args.no_language_check else [])
                + (["--tune-heap"] if args.tune_heap else [])
                + (["--no-compiled"] if args.no_compiled else []),
                check=True,
                capture_output=True,
                text=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    mine, base = results
    print(
        f"ingest benchmark on {args.db}: 1,000 brand terms, realistic HTML statuses, pages of {PAGE_SIZE}, "
        f"{PAGES_PER_TRANSACTION} pages per transaction"
    )
    for r in results:
        extra = ""
        if r["variant"] == "merkwacht":
            if r["analysis"]:
                extra = (" (with analysis" + (", numpy scorer" if args.no_compiled else "")
                         + (", heap tuned)" if args.tune_heap else ")"))
            else:
                extra = " (without analysis)" if args.no_analysis else " (analysis not installed)"
        print(
            f"  {r['variant']:<10} {r['posts']:>7} posts in {r['seconds']:7.2f} s = {r['posts_per_s']:8.0f} posts/s, "
            f"peak RSS {r['peak_rss_mb']:6.1f} MiB{extra}"
        )
    print(
        "  Merkwacht per post: "
        + ", ".join(f"{k} {v} µs" for k, v in mine["us_per_post"].items())
        + f"; by CPU time {mine['cpu_posts_per_s']:.0f} posts/s"
    )
    print(
        f"  speed-up over the baseline: {mine['posts_per_s'] / base['posts_per_s']:.1f}x "
        f"(target: >= 5,000 posts/s and >= 5x)"
    )


if __name__ == "__main__":
    main()
