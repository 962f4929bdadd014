"""Lexicon sentiment in VADER's manner, for any language that has a `Lexicon`: one pass over the tokens."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from bot.analysis.lexicons import Lexicon
from bot.analysis.text import Token, squeeze
from bot.model import SentimentLabel

NEGATION_SCALAR = -0.74
"""VADER's factor for a negated word: "not good" is mildly negative, not as bad as "bad"."""
CAPS_BOOST = 0.733
ELONGATION_BOOST = 0.4
EXCLAMATION_BOOST = 0.292
ALPHA = 15.0
"""VADER's normalisation constant: compound = s / sqrt(s² + ALPHA)."""

POSITIVE_AT = 0.25
NEGATIVE_AT = -0.2
"""Compound thresholds, tuned on the dev split; VADER's own ±0.05 calls too many product posts opinionated."""

_DECAY = (1.0, 0.95, 0.9)
_LONGEST = 3
"""Words a multi-word lexicon entry is looked up with, at most."""
_SARCASM_MARKERS = frozenset({"🙃", "🙄", "😒", "sarcasm", "sarcasme", "sarkasmus", "ironie", "irony", "yeah right"})
# Counterfactual wording ("would be nice if", "zou fijn zijn") wishes for something; it does not praise anything.
_IRREALIS = frozenset(
    {
        "would",
        "wish",
        "zou",
        "zouden",
        "wäre",
        "würde",
        "serait",
        "aimerais",
        "sería",
        "estaría",
        "ojalá",
        "hopelijk",
        "hopefully",
        "should",
        "moeten",
        "mogen",
    }
)


def label_for(compound: float) -> SentimentLabel:
    """The three-way label for a compound score."""
    if compound >= POSITIVE_AT:
        return "positive"
    if compound <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def normalise(total: float) -> float:
    """Squash an unbounded valence sum into -1..1 as VADER does."""
    return total / math.sqrt(total * total + ALPHA) if total else 0.0


_IRONIC_OPENER_START = frozenset({"oh", "ah", "wow", "na", "ooh", "o"})
_IRONIC_OPENER_PRAISE = frozenset(
    {
        *("great", "wonderful", "perfect", "fantastic", "lovely", "brilliant", "awesome", "nice", "splendid"),
        *("geweldig", "fijn", "heerlijk", "prachtig", "top", "super", "lekker", "mooi", "fantastisch"),
        *("toll", "prima", "klasse", "wunderbar", "génial", "parfait", "super", "genial", "perfecto", "estupendo"),
    }
)


def has_ironic_opener(tokens: Sequence[Token]) -> bool:
    """Whether the post opens with exaggerated praise ("Oh great, ...", "Oh geweldig, ..."), which reads as irony
    when trouble follows; the caller decides whether it does."""
    words = [t.norm for t in tokens[:4] if t.kind == "word"][:2]
    return len(words) == 2 and words[0] in _IRONIC_OPENER_START and words[1] in _IRONIC_OPENER_PRAISE


def has_sarcasm_marker(tokens: Sequence[Token]) -> bool:
    """Whether the writer flagged irony (🙃, 🙄, #sarcasme): their praise words then mean the opposite."""
    return not _SARCASM_MARKERS.isdisjoint([t.norm for t in tokens])


def _lookup(lexicon: Lexicon, token: Token) -> float | None:
    value = lexicon.valence.get(token.norm)
    if value is None and token.elongated:
        for variant in squeeze(token.norm):
            value = lexicon.valence.get(variant)
            if value is not None:
                break
    return value


def is_negator(word: str, negators: Collection[str]) -> bool:
    """Whether `word` negates what follows: one of the language's `negators`, or a French elision ("n'est", "n'a"),
    which carries the negation inside the token."""
    return word in negators or word.startswith("n'")


def sentence_valence(tokens: Sequence[Token], lexicon: Lexicon, sarcastic: bool = False) -> float:
    """The summed valence of one sentence: lexicon hits modified by negation, boosters, caps, elongation, `!`."""
    words = [t.norm for t in tokens]
    valence = lexicon.valence
    phrase_starts = lexicon.phrase_starts
    # Only a word in the lexicon, the first word of an entry, or an elongated word can score; most words are none of
    # these, so the scan below visits just the positions that are (in order, as a left-to-right scan would).
    candidates = [i for i, t in enumerate(tokens) if (w := t.norm) in valence or w in phrase_starts or t.elongated]
    if not candidates:
        return 0.0
    n = len(tokens)
    boosters = lexicon.boosters
    hits: list[tuple[int, float]] = []
    after = 0  # just past the last multi-word entry found: the words it spans are not looked up on their own
    for i in candidates:
        token = tokens[i]
        if i < after or token.kind == "punct":
            continue
        norm = words[i]
        value: float | None = None
        # Multi-word entries ("nog steeds niet") win over their first word; only a known first word can start one.
        if norm in phrase_starts:
            for size in range(min(_LONGEST, n - i), 1, -1):
                phrase = " ".join(words[i : i + size])
                if phrase in valence:
                    value, after = valence[phrase], i + size
                    break
        if value is None:
            value = _lookup(lexicon, token)
            # A booster before another opinion word only strengthens it ("super lekker", "erg goed").
            if value is not None and norm in boosters and i + 1 < n:
                nxt = tokens[i + 1]
                if _lookup(lexicon, nxt) is not None or nxt.norm in boosters:
                    value = None
        if value:
            hits.append((i, value))
    if not hits:
        return 0.0
    return _score(tokens, words, hits, lexicon, sarcastic)


def _score(
    tokens: Sequence[Token], words: list[str], hits: list[tuple[int, float]], lexicon: Lexicon, sarcastic: bool
) -> float:
    """The sentence total from its lexicon hits (index, raw valence), with VADER's modifiers applied."""
    # Only sentences with a lexicon hit get here, and most have none: the sentence-wide facts are computed lazily.
    all_caps = all(t.caps for t in tokens if t.kind == "word")
    irrealis = not _IRREALIS.isdisjoint(words)
    boosters = lexicon.boosters
    total_hits: list[tuple[int, float]] = []
    for i, value in hits:
        token = tokens[i]
        sign = 1.0 if value > 0 else -1.0
        if token.caps and not all_caps:
            value += sign * CAPS_BOOST
        if token.elongated:
            value += sign * ELONGATION_BOOST
        negated = False
        for back in range(1, 4):
            j = i - back
            if j < 0 or tokens[j].kind == "punct":
                break
            boost = boosters.get(words[j])
            if boost:
                value += sign * boost * _DECAY[back - 1]
            if is_negator(words[j], lexicon.negators):
                negated = True
        if negated:
            value *= NEGATION_SCALAR
        if value > 0 and irrealis:
            value *= 0.2
        if value > 0 and sarcastic and token.kind == "word":
            value = -value
        total_hits.append((i, value))
    pivot = max((k for k, w in enumerate(words) if w in lexicon.contrast), default=-1)
    total = 0.0
    for index, value in total_hits:
        if pivot >= 0:
            value *= 0.5 if index < pivot else 1.5
        total += value
    bangs = min(sum(t.norm.count("!") for t in tokens if t.kind == "punct"), 4)
    if total and bangs:
        total += math.copysign(bangs * EXCLAMATION_BOOST, total)
    return total
