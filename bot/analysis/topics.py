"""Tagging posts with the configured topics (`[[topics]]` name and terms)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.config import TopicConfig

MAX_SUFFIX = 3
"""Letters a word may add to a term and still match it: plurals and inflection (`price` -> `prices`)."""


def _term_pattern(term: str) -> str | None:
    term = term.strip().casefold().lstrip("#")
    if not term:
        return None
    open_end = term.endswith("*")
    words = term.rstrip("*").split()
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    tail = r"\w*" if open_end else rf"\w{{0,{MAX_SUFFIX}}}"
    return r"(?<!\w)" + body + tail + r"(?!\w)"


class TopicMatcher:
    """Finds which topics a text touches; a term matches whole words, hashtags and simple inflections."""

    def __init__(self, topics: Sequence[TopicConfig]) -> None:
        self._topics: list[tuple[str, re.Pattern[str]]] = []
        for topic in topics:
            parts = [p for p in (_term_pattern(t) for t in topic.terms) if p]
            if parts:
                self._topics.append((topic.name, re.compile("|".join(parts))))

    def match(self, text: str) -> tuple[str, ...]:
        """Names of the topics whose terms occur in `text`, in configuration order, each once."""
        if not self._topics or not text:
            return ()
        folded = text.casefold()
        return tuple(dict.fromkeys(name for name, pattern in self._topics if pattern.search(folded)))
