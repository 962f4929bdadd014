"""Benchmark: build one day's digest from 1,000,000 stored posts over 90 days and 20 brands.

    python bench/digest.py [--url sqlite:////tmp/merkwacht-bench.db] [--posts 1000000] [--rebuild]

Prints the time for the queries, the rendering and the chart. Target: under 1 s in total. The database is generated
once (a few minutes) and reused; `--rebuild` makes it again.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select

from bot.digest.build import build_digest
from bot.digest.chart import render_chart
from bot.digest.render import render
from storage.db import Database
from storage.models import MentionRow, PostRow, PostTagRow

ZONE = ZoneInfo("Europe/Amsterdam")
BRANDS = [f"Brand{i:02d}" for i in range(20)]
TAGS = ["coffee", "tea", "support", "outage", "launch", "deal", "review", "help", "bug", "love"]
INSTANCES = [f"https://instance{i}.example" for i in range(30)]
WORDS = "the order arrived late again and support did not answer my question about the refund great product".split()
DAYS = 90
BATCH = 20_000


def generate(db: Database, total: int, end: date) -> None:
    """Fill `db` with `total` posts spread over the DAYS days up to `end`."""
    rng = random.Random(42)
    start = datetime.combine(end - timedelta(days=DAYS - 1), datetime.min.time(), tzinfo=ZONE).astimezone(UTC)
    span = DAYS * 86400
    now = datetime.now(UTC)
    next_id = 1
    while next_id <= total:
        posts, mentions, tags = [], [], []
        for pid in range(next_id, min(next_id + BATCH, total + 1)):
            created = start + timedelta(seconds=rng.random() * span)
            sentiment = rng.choice(["positive", "neutral", "negative"])
            origin = rng.choice(INSTANCES)
            posts.append({
                "id": pid, "uri": f"{origin}/statuses/{pid}", "source": "mastodon", "origin": origin,
                "url": f"{origin}/@user{pid % 5000}/{pid}", "author_handle": f"user{pid % 5000}@x",
                "author_name": f"User {pid % 5000}", "author_url": "", "author_followers": rng.randint(0, 20000),
                "created_at": created, "edited_at": None, "first_seen_at": now, "updated_at": now,
                "text": " ".join(rng.choices(WORDS, k=18)), "language": "en", "replies": rng.randint(0, 5),
                "boosts": rng.randint(0, 10), "favourites": rng.randint(0, 20), "sensitive": False,
                "spoiler_text": "", "in_reply_to": None,
                "sentiment": sentiment, "sentiment_score": 0.0,
                "cx": rng.choice(["complaint", "question", "praise", "other", "other", "other"]), "topics": None,
            })
            # Most posts come in through a brand's hashtag or term; some mention two brands, some none.
            for brand in rng.sample(BRANDS, rng.choice([0, 1, 1, 1, 1, 2])):
                mentions.append({"post_id": pid, "brand": brand, "kind": "term", "matched": brand.lower(),
                                 "created_at": created, "sentiment": sentiment})
            for tag in rng.sample(TAGS, rng.randint(0, 3)):
                tags.append({"post_id": pid, "tag": tag, "created_at": created})
        with db.transaction() as session:
            session.execute(insert(PostRow), posts)
            if mentions:
                session.execute(insert(MentionRow), mentions)
            if tags:
                session.execute(insert(PostTagRow), tags)
        next_id += BATCH
        print(f"\r  generated {min(next_id - 1, total):,} posts", end="", flush=True)
    print()
    if db.dialect == "postgresql":
        # VACUUM as autovacuum soon would: without a visibility map PostgreSQL cannot use index-only scans.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")


def main() -> None:
    """Generate (once) and measure."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="sqlite:////tmp/merkwacht-bench.db")
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    end = date(2026, 3, 10)
    db = Database(args.url)
    with db.transaction() as session:
        count = session.scalar(select(func.count()).select_from(PostRow)) or 0
    if args.rebuild or count != args.posts:
        if count:
            with db.transaction() as session:
                for table in (MentionRow, PostTagRow, PostRow):
                    session.execute(table.__table__.delete())
        print(f"generating {args.posts:,} posts over {DAYS} days, {len(BRANDS)} brands ({args.url})")
        generate(db, args.posts, end)

    print(f"digest for {end} from {args.posts:,} posts on {db.dialect}")
    for run in range(args.runs):
        t0 = time.perf_counter()
        with db.transaction() as session:
            digest = build_digest(session, end, zone=ZONE, brands=BRANDS, watched_tags=TAGS)
        t1 = time.perf_counter()
        rendered = render(digest)
        t2 = time.perf_counter()
        png = render_chart(digest)
        t3 = time.perf_counter()
        print(f"  run {run + 1}: queries {t1 - t0:.3f} s, rendering {t2 - t1:.3f} s ({len(rendered.payloads)} "
              f"messages), chart {t3 - t2:.3f} s ({len(png) // 1024} KiB); total {t3 - t0:.3f} s")
    db.close()


if __name__ == "__main__":
    main()
