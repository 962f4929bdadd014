"""Tagging posts with the configured topics (`[[topics]]` name and terms)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.config import TopicConfig

MAX_SUFFIX = 3
"""Letters a word may add to a term and still match it: plurals and inflection (`price` -> `prices`)."""


def _term_pattern(term: str) -> tuple[str, re.Pattern[str]] | None:
    """A literal every match of the term contains (its longest word), and the term's pattern."""
    term = term.strip().casefold().lstrip("#")
    if not term:
        return None
    open_end = term.endswith("*")
    words = term.rstrip("*").split()
    if not words:
        return None
    tail = r"\w*" if open_end else rf"\w{{0,{MAX_SUFFIX}}}"
    # "Not preceded by a letter", checked just after the first word rather than before it: the pattern then starts
    # with that literal word, which the regex engine can jump to instead of trying every position of the post. The
    # first word holds no white space, so the `.` in the lookbehind matches each of its characters.
    not_inside_a_word = rf"(?<!\w.{{{len(words[0])}}})"
    first, *rest = words
    body = re.escape(first) + not_inside_a_word + "".join(r"\s+" + re.escape(w) for w in rest)
    return max(words, key=len), re.compile(body + tail + r"(?!\w)")


class TopicMatcher:
    """Finds which topics a text touches; a term matches whole words, hashtags and simple inflections."""

    def __init__(self, topics: Sequence[TopicConfig]) -> None:
        self._topics: list[tuple[str, tuple[tuple[str, re.Pattern[str]], ...]]] = []
        for topic in topics:
            terms = tuple(p for p in (_term_pattern(t) for t in topic.terms) if p)
            if terms:
                self._topics.append((topic.name, terms))

    def match(self, text: str) -> tuple[str, ...]:
        """Names of the topics whose terms occur in `text`, in configuration order, each once."""
        if not self._topics or not text:
            return ()
        folded = text.casefold()
        # A substring test for a word of the term rules most terms out before any regex runs.
        return tuple(
            dict.fromkeys(
                name
                for name, terms in self._topics
                if any(literal in folded and pattern.search(folded) for literal, pattern in terms)
            )
        )
