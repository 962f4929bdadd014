"""A declared language checked against the text, before analysis picks its word lists by it.

Servers declare a language per post, and some declare the wrong one: GoToSocial tags every post `en` unless the
client says otherwise, so Dutch complaints were scored with English words (10 of 19 came out neutral / other). When
a post is long enough to tell and the detector clearly names another configured language, the detected language
is used and the post says so (`language_source = "corrected"`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from bot.analysis.language import STOPWORDS, LanguageDetector, normalise_tag
from bot.model import Post

MIN_WORDS = 5
"""Words a post needs before its declared language is second-guessed: shorter posts are too easy to misread."""

_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SKIP = re.compile(r"(?:https?://\S+|[@#]\w[\w.@-]*)")


def _function_words(words: Sequence[str], language: str) -> int:
    vocabulary = STOPWORDS.get(language, frozenset())
    return sum(1 for w in words if w in vocabulary)


class LanguageCheck:
    """Corrects a declared language the text clearly contradicts; one per pipeline."""

    def __init__(self, languages: Sequence[str]) -> None:
        self.languages = tuple(dict.fromkeys(lang.lower() for lang in languages))
        self._detector = LanguageDetector(self.languages)

    def __call__(self, post: Post) -> Post:
        """`post` itself, or a copy with the detected language and `language_source = "corrected"` when the text
        clearly says otherwise (storage calls an unchanged declaration `declared`)."""
        declared = normalise_tag(post.language)
        if declared is None:
            return post
        # Only a declaration the detector could have made itself can be judged: a post declared `it` while only
        # nl/en/de/fr/es are configured would always be "corrected" into one of those.
        if declared not in self.languages or len(self.languages) < 2:
            return post
        words = [w.lower() for w in _WORD.findall(_SKIP.sub(" ", post.text))]
        if len(words) < MIN_WORDS:
            return post
        # "Clearly" means the function words do not side with the declaration either: brand and place names
        # ("koffiebar bruin opened a second spot in amersfoort") fool the detector, not the little words. So when
        # no other language has more of them, the declaration stands without asking the detector at all (most
        # posts: their declaration is right), which keeps the check cheap.
        counts = {lang: _function_words(words, lang) for lang in self.languages}
        if counts[declared] >= max(counts.values()):
            return post
        detected = self._detector.detect(post.text, words)
        if detected is None or detected == declared or counts[declared] >= counts.get(detected, 0):
            return post
        return dataclasses.replace(post, language=detected, language_source="corrected")
