"""Which language a post is in: the declared one when the source gives it, else a detector limited to the config."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot.ops.failures import FailureLog

log = logging.getLogger(__name__)

MIN_LETTERS = 8
"""Fewer letters than this (`ok`, `lol 😂`) cannot be told apart reliably; such posts get no language."""
DETECT_CHARS = 600
"""The detector reads at most this much; the opening of a post says which language it is in."""

_TAG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*$")
# MIN_LETTERS letters with anything else between them: a search stops at the eighth letter instead of listing all.
_ENOUGH_LETTERS = re.compile(rf"[^\W\d_](?:[\W\d_]*[^\W\d_]){{{MIN_LETTERS - 1}}}")

# Function words that are frequent in one language and rare in the others. A post with several of them from one
# language is classified without the statistical detector, which costs ~50 µs; ambiguous posts still go to it.
STOPWORDS: dict[str, frozenset[str]] = {
    "nl": frozenset(
        "aan alsjeblieft bedankt ben bij daar dan dat deze dit echt een eens er even geen gewoon graag heb "
        "hebben heeft het hoe hun iemand ik jij jullie kan kun kunnen m'n maar met mijn moet naar niet niets "
        "niks nog nu om ook op toch uit van voor waar waarom wanneer wat weer wel wij worden wordt ze zijn zo "
        "zou".split()
    ),
    "en": frozenset(
        "a again an and anyone are at been but can could did do does for from get got has have how i i'm it "
        "it's just my no not of on our please should still thanks that the their they this to were what when "
        "where who why will with would you your".split()
    ),
    "de": frozenset(
        "auch auf bitte danke das dem den der die ein eine für habe hat ich ihr immer ist jemand kann können "
        "mein meine mit nach nicht noch schon seit sie sind und wann warum wer wir wo wäre zum zur".split()
    ),
    "fr": frozenset(
        "au aussi aux avec c'est ce cette comment dans depuis elle encore est est-ce et il j'ai la le les ma "
        "merci mes mon nous où pas pour pourquoi quand quelqu'un qui quoi sur toujours très tu une vous ça".split()
    ),
    "es": frozenset(
        "alguien con cuándo cómo del desde dónde el estoy está gracias hace la las lo los mi mis muy no "
        "otra para por qué también todavía tú una vez y yo".split()
    ),
}


def normalise_tag(tag: str | None) -> str | None:
    """`nl-NL` / `en_GB` / ` NL ` -> `nl`; None for missing or malformed tags."""
    if not tag or not isinstance(tag, str):
        return None
    match = _TAG.match(tag)
    if not match:
        return None
    code = match.group(1).lower()
    return code if len(code) == 2 else None


@functools.cache
def _index(languages: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for lang in languages:
        for word in STOPWORDS.get(lang, ()):
            index.setdefault(word, []).append(lang)
    return {word: tuple(langs) for word, langs in index.items()}


def vote(words: Iterable[str], languages: Sequence[str]) -> str | None:
    """The configured language whose function words clearly dominate `words`, or None when it is not clear."""
    index = _index(tuple(languages))
    found = list(filter(None, map(index.get, words)))
    # The winner needs two votes, which many sentences do not have: no counting needed then.
    if sum(map(len, found)) < 2:
        return None
    counts = dict.fromkeys(languages, 0)
    for langs in found:
        for lang in langs:
            counts[lang] += 1
    # The first language (in configured order) with the most votes wins if it has more than twice the runner-up's.
    values = list(counts.values())
    n = max(values)
    first = values.index(n)
    runner_up = max(values[:first] + values[first + 1 :], default=0)
    return list(counts)[first] if n >= 2 and n >= 2 * runner_up + 1 else None


class LanguageDetector:
    """Detects one of the configured languages; builds lingua's models only for those, and only on first need."""

    def __init__(self, languages: Sequence[str], failures: FailureLog | None = None) -> None:
        self.languages = tuple(dict.fromkeys(lang.lower() for lang in languages))
        self._lingua: Any = None
        self._lingua_failed = False
        self._failures = failures or FailureLog(log)
        """Where a detector that fails is reported (once per kind, then counted); posts then get no language."""

    def _detector(self) -> Any:
        if self._lingua is None and not self._lingua_failed:
            try:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                langs = []
                for code in self.languages:
                    try:
                        langs.append(Language.from_iso_code_639_1(IsoCode639_1.from_str(code)))
                    except ValueError:
                        continue
                if len(langs) >= 2:
                    # Low-accuracy mode uses trigram models only: a fraction of the memory and time, and on
                    # sentence-length posts nearly as accurate; the distance makes it abstain on near-ties.
                    self._lingua = (
                        LanguageDetectorBuilder.from_languages(*langs)
                        .with_low_accuracy_mode()
                        .with_minimum_relative_distance(0.1)
                        .build()
                    )
                else:
                    self._lingua_failed = True
            except Exception as exc:  # an unusable detector must not stop ingest; posts then get no language
                self._lingua_failed = True
                self._failures.record("language detection", exc, what="building the detector")
        return self._lingua

    def detect(self, text: str, words: Sequence[str] | None = None) -> str | None:
        """The language of `text` (given its lower-cased words, if already tokenised); None when unsure."""
        if not self.languages:
            return None
        if len(self.languages) == 1:
            return self.languages[0]
        # Read the words, not the raw text: URLs and handles are letters too, but say nothing about the language.
        sample = " ".join(words)[:DETECT_CHARS] if words is not None else text[:DETECT_CHARS]
        if _ENOUGH_LETTERS.search(sample) is None:
            return None
        quick = vote(words, self.languages) if words else None
        if quick is not None:
            return quick
        detector = self._detector()
        if detector is None:
            return None
        try:
            found = detector.detect_language_of(sample)
        except Exception as exc:  # lingua is native code; a failure on odd input must not escape
            self._failures.record("language detection", exc, what=repr(sample[:40]))
            return None
        if found is None:
            return None
        code = str(found.iso_code_639_1.name).lower()
        return code if code in self.languages else None

    def warm_up(self) -> None:
        """Build lingua's models now rather than on the first undeclared post."""
        detector = self._detector()
        if detector is not None:
            detector.detect_language_of("warm up the detector models")
