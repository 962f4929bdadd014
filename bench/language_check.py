"""How the language check does on the labelled set: wrong declarations caught, right ones left alone.

    python bench/language_check.py

Every post of `tests/data/analysis_eval.jsonl` is run through `LanguageCheck` twice: declared as its true language
(a correction would be a mistake) and declared `en`, as GoToSocial does for every post (a correction to the true
language is the fix). It also shows what the analysis makes of the non-English posts each way.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.analysis import Analyser
from bot.config.schema import AnalysisConfig
from bot.ingest.language_check import LanguageCheck
from bot.model import Author, Post, SourceKind

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "analysis_eval.jsonl"


def _post(text: str, language: str) -> Post:
    return Post(uri="u", source=SourceKind.MASTODON, origin="o", remote_id="1", url="u", author=Author("a@b"),
                created_at=datetime.now(UTC), text=text, language=language)


def main() -> None:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    config = AnalysisConfig()
    check = LanguageCheck(config.languages)
    analyser = Analyser(config)
    wrong_fix: Counter[str] = Counter()
    total: Counter[str] = Counter()
    fixed: Counter[str] = Counter()
    checked: Counter[str] = Counter()
    right_as_en: Counter[str] = Counter()
    right_checked: Counter[str] = Counter()
    for row in rows:
        lang, text = row["lang"], row["text"]
        total[lang] += 1
        if check(_post(text, lang)).language != lang:
            wrong_fix[lang] += 1
        if lang == "en":
            continue
        as_en = _post(text, "en")
        after = check(as_en)
        checked[lang] += after.language_source == "corrected"
        fixed[lang] += after.language == lang
        right_as_en[lang] += analyser.analyse(as_en).sentiment == row["sentiment"]
        right_checked[lang] += analyser.analyse(after).sentiment == row["sentiment"]
    print("| language | posts | right declaration overridden | `en` declared: corrected to the true language | "
          "sentiment right, declared `en` | after the check |")
    print("|---|---|---|---|---|---|")
    for lang in sorted(total):
        if lang == "en":
            print(f"| en | {total[lang]} | {wrong_fix[lang]} | (n/a) | | |")
            continue
        print(f"| {lang} | {total[lang]} | {wrong_fix[lang]} | {fixed[lang]} of {total[lang]} | "
              f"{right_as_en[lang]} | {right_checked[lang]} |")


if __name__ == "__main__":
    main()
