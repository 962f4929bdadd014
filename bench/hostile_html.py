"""CPU time to turn hostile HTML into text: Merkwacht's bounded converter against plain Lexbor parsing (the baseline).

    python bench/hostile_html.py [--depth 100000]

The hostile post of issue #15 is 1.1 MB of 100,000 nested `<div>`s: Lexbor's time grows with the square of the
nesting, so parsing it took over a minute of CPU on a loaded machine and held up the poll scheduler. Merkwacht reads at
most 256 KiB and flattens nesting deeper than 256 with a linear pass. The baseline parses a smaller document (nesting
`--baseline-depth`, 20,000 by default) so it finishes quickly; `--full-baseline` parses the hostile one too. Figures
are per document, CPU seconds (process time, best of 3).
"""

from __future__ import annotations

import argparse
import time

from selectolax.lexbor import LexborHTMLParser

from bot.sources.mastodon.html import html_to_text


def nested(depth: int) -> str:
    """`depth` nested divs around a word."""
    return "<div>" * depth + "Acme" + "</div>" * depth


def cpu(work: object, runs: int = 3) -> float:
    """The best of `runs` CPU times of calling `work`."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        work()  # type: ignore[operator]
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--baseline-depth", type=int, default=20_000)
    parser.add_argument("--full-baseline", action="store_true", help="also parse the hostile document with Lexbor")
    args = parser.parse_args()
    hostile, baseline = nested(args.depth), nested(args.baseline_depth)
    flat = "<p>Acme " + '<span class="x"><b>spam</b></span> ' * 30_000 + "</p>"
    ours = cpu(lambda: html_to_text(hostile))
    print(f"hostile: {len(hostile):,} chars, depth {args.depth:,}: merkwacht {ours:.4f} s")
    if args.full_baseline:
        print(f"hostile: lexbor parse only {cpu(lambda: LexborHTMLParser(hostile), runs=1):.1f} s")
    print(f"baseline: {len(baseline):,} chars, depth {args.baseline_depth:,}: lexbor parse only "
          f"{cpu(lambda: LexborHTMLParser(baseline)):.4f} s, merkwacht {cpu(lambda: html_to_text(baseline)):.4f} s")
    print(f"flat: {len(flat):,} chars of 60,000 shallow elements: merkwacht {cpu(lambda: html_to_text(flat)):.4f} s")
    # Tags that never close: the depth scan once read to the end of the text from every "<" (over 5 minutes of CPU).
    unclosed = '<span a="" ' * 23_831
    print(f"unclosed: {len(unclosed):,} chars of 23,831 tags without '>': merkwacht "
          f"{cpu(lambda: html_to_text(unclosed)):.4f} s")


if __name__ == "__main__":
    main()
