"""Which configured brands a post mentions: by term in the text, by hashtag, or by handle.

All terms of all brands go into one Aho-Corasick automaton, so a post is scanned once however many
thousands of terms are configured. Matching ignores case and accents and respects word boundaries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick

from bot.config import BrandConfig
from bot.model import BrandMatch, Post

# The combining diacritics of Latin, Cyrillic, Hebrew and Arabic script (others stay: matching is then merely
# accent-sensitive there); one regex pass is an order of magnitude faster than testing every character.
_COMBINING = re.compile("[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f"
                        "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Case- and accent-insensitive form of `text`: `Café ACME` -> `cafe acme`.

    Only combining marks are removed, so the folded text keeps word boundaries where the original had them.
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _COMBINING.sub("", decomposed)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@dataclass(frozen=True, slots=True)
class _Needle:
    brand: str
    phrase: str
    """As configured, for reporting what matched."""
    excluded: bool
    length: int


class BrandMatcher:
    """Finds the configured brands in posts; build once, use for every post."""

    def __init__(self, brands: Sequence[BrandConfig]) -> None:
        self._automaton = ahocorasick.Automaton()
        needles: dict[str, list[_Needle]] = {}
        for brand in brands:
            for phrase, excluded in [*((t, False) for t in brand.terms), *((x, True) for x in brand.exclude)]:
                key = " ".join(fold(phrase).split())
                if key:
                    needles.setdefault(key, []).append(_Needle(brand.name, phrase, excluded, len(key)))
        for key, found in needles.items():
            self._automaton.add_word(key, tuple(found))
        self._has_terms = bool(needles)
        if self._has_terms:
            self._automaton.make_automaton()
        self._tags: dict[str, list[tuple[str, str]]] = {}
        self._handles: dict[str, list[tuple[str, str]]] = {}
        for brand in brands:
            for tag in brand.hashtags:
                self._tags.setdefault(tag, []).append((brand.name, tag))
            for handle in brand.handles:
                self._handles.setdefault(handle, []).append((brand.name, handle))
            for term in brand.terms:
                # A multi-word term written as one hashtag: `#bonenburgkoffie` for "Bonenburg Koffie".
                words = fold(term).split()
                if len(words) > 1 and all(_is_word_char(c) for w in words for c in w):
                    self._tags.setdefault("".join(words), []).append((brand.name, "".join(words)))

    def match_text(self, text: str) -> list[BrandMatch]:
        """Brands named in `text` by a configured term, outside every excluded phrase of that brand."""
        if not self._has_terms or not text:
            return []
        folded = " ".join(fold(text).split())
        hits: list[tuple[int, int, _Needle]] = []
        for end, found in self._automaton.iter(folded):
            for needle in found:
                start = end - needle.length + 1
                before = folded[start - 1] if start > 0 else " "
                after = folded[end + 1] if end + 1 < len(folded) else " "
                # A boundary is only required where the term itself starts or ends with a word character,
                # so `C++` or `@acme` still match next to letters the way a reader would expect.
                if _is_word_char(needle.phrase[0]) and _is_word_char(before):
                    continue
                if _is_word_char(needle.phrase[-1]) and _is_word_char(after):
                    continue
                hits.append((start, end, needle))
        exclusions = [(s, e, n.brand) for s, e, n in hits if n.excluded]
        out: dict[tuple[str, str], BrandMatch] = {}
        for start, end, needle in hits:
            if needle.excluded:
                continue
            inside = any(b == needle.brand and s <= start and end <= e for s, e, b in exclusions)
            if not inside:
                out.setdefault((needle.brand, needle.phrase), BrandMatch(needle.brand, "term", needle.phrase))
        return list(out.values())

    def match_tags(self, tags: Iterable[str]) -> list[BrandMatch]:
        """Brands whose hashtags the post carries (tags already lower-case, without `#`)."""
        return [BrandMatch(b, "hashtag", t) for tag in tags for b, t in self._tags.get(fold(tag), ())]

    def match_handles(self, mentions: Iterable[str]) -> list[BrandMatch]:
        """Brands whose accounts the post mentions (`user@domain`)."""
        return [BrandMatch(b, "handle", h) for m in mentions for b, h in self._handles.get(m.casefold(), ())]

    def match_camel_tags(self, text: str) -> list[BrandMatch]:
        """Brands whose multi-word terms are written as one CamelCase hashtag: #BonenburgKoffie, #AcmeCoffeeNL."""
        if not self._has_terms or "#" not in text:
            return []
        words = [" ".join(parts) for parts in map(split_camel, _CAMEL_TAG.findall(text)) if len(parts) > 1]
        # Each split tag is matched on its own line, so words of two tags never join into one term.
        return self.match_text("\n".join(words)) if words else []

    def match(self, post: Post) -> tuple[BrandMatch, ...]:
        """Every reason `post` mentions a brand, without repeats: its text, its content warning, its hashtags
        (CamelCase ones split into words) and the accounts it mentions."""
        found = [*self.match_text(post.text), *self.match_tags(post.tags), *self.match_handles(post.mentions)]
        if post.spoiler_text:
            # The warning is part of what readers see ("CW: Acme app broke again"); the analysis reads it too.
            found += self.match_text(post.spoiler_text)
        found += self.match_camel_tags(post.text)
        if self._handles and "@" in post.text:
            found.extend(self.match_handles(_handles_in_text(post.text)))
        return tuple(dict.fromkeys(found))


_CAMEL_TAG = re.compile(r"(?<![\w#])#(\w+)")
_UPPER, _LOWER = "A-Z\u00c0-\u00de", "a-z\u00df-\u00ff"  # Latin-1 letters: Café, Ärger, Øl
# A capitalised word, a run of capitals not followed by a lower-case letter (NL in AcmeNL), lower case, digits.
_CAMEL_PART = re.compile(rf"[{_UPPER}][{_LOWER}]+|[{_UPPER}]+(?![{_LOWER}])|[{_LOWER}]+|\d+")


def split_camel(tag: str) -> list[str]:
    """`BonenburgKoffie` -> [Bonenburg, Koffie]; `AcmeNL` -> [Acme, NL]; `acme_coffee` -> [acme, coffee]."""
    return [part for chunk in tag.split("_") for part in _CAMEL_PART.findall(chunk)]


def _handles_in_text(text: str) -> list[str]:
    # Mentions written out in plain text (Discord messages, quotes) rather than in the status' `mentions`.
    return [w.strip(".,:;!?()[]<>\"'").lstrip("@") for w in text.split() if w.count("@") == 2 and w.startswith("@")]
