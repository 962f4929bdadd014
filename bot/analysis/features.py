"""The features the learned analyser reads: hashed words and character n-grams plus the rule cues, in plain numpy.

Training (`bot.analysis.train`) and inference call the same `extract`, so the hashing matches exactly. A post becomes
a sparse vector given as `(indices, values)`:

- character 2- to 5-grams of the normalised text (words, emoji, `@user` for mentions, `#tag` for hashtags that did not
  select the post), each worth 1/sqrt(number of n-grams): they carry across languages and spellings ("vriendelijke",
  "onbeleefde", "sooo");
- word unigrams and bigrams, language-free and crossed with the language, each worth 1/sqrt(number of words);
- dense cue features in fixed slots past the hashed ones: lexicon polarity (VADER-style, per sentence, with negation,
  boosters, caps and elongation), the complaint / question / suggestion / praise cue patterns, irony markers,
  question form, `!`, emoji, links, and the lexicon score crossed with the language.

Hashing is a rolling polynomial over code points mixed by a Fibonacci multiplier, in uint64 numpy arithmetic (it
wraps, identically on every platform); words are hashed with CRC-32. Nothing depends on Python's randomised `hash`.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt

from bot.analysis import cx as cx_rules
from bot.analysis import lexicons
from bot.analysis import sentiment as senti
from bot.analysis.text import Token, sentences

HASH_BITS = 18
HASHED = 1 << HASH_BITS
"""Buckets for hashed n-grams and words; the dense cue features follow at HASHED + k."""
CHAR_NGRAMS = (2, 3, 4, 5)
LANGS = ("en", "nl", "de", "fr", "es", "it", "pt")
"""Languages with language-crossed features; any other language (or none) shares one extra slot."""

DENSE = (
    "bias",
    "valence",
    "valence_pos",
    "valence_neg",
    "sent_max",
    "sent_min",
    "n_pos_sent",
    "n_neg_sent",
    "complaint_strong",
    "complaint_weak",
    "cue_question",
    "cue_suggestion",
    "cue_praise",
    "cue_gratitude",
    "sarcasm_marker",
    "ironic_opener",
    "question_mark",
    "exclamation",
    "negation",
    "elongated",
    "caps",
    "emoji",
    "link",
    "short",
    "length",
    *(f"rule_{cx}" for cx in ("complaint", "praise", "question", "suggestion", "other")),
    *(f"valence_{lang}" for lang in (*LANGS, "xx")),
    *(f"lang_{lang}" for lang in (*LANGS, "xx")),
)
DIM = HASHED + len(DENSE)
_SLOT = {name: HASHED + i for i, name in enumerate(DENSE)}

_MIX = np.uint64(0x9E3779B97F4A7C15)
_PRIME = np.uint64(1_000_003)
_SHIFT = np.uint64(64 - HASH_BITS)
_SALT = {
    name: np.uint64(zlib.crc32(name.encode()) * 2_654_435_761)
    for name in ("c2", "c3", "c4", "c5", "w1", "w2", *(f"l{lang}" for lang in (*LANGS, "xx")))
}

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


def _bucket(h: npt.NDArray[np.uint64], salt: np.uint64) -> IntArray:
    return ((h ^ salt) * _MIX >> _SHIFT).astype(np.int64)


@functools.lru_cache(maxsize=1 << 16)
def _word_hash(word: str) -> int:
    return zlib.crc32(word.encode("utf-8", "surrogatepass"))


def _surface(token: Token) -> str | None:
    kind = token.kind
    if kind == "word":
        return "#" + token.norm if token.hashtag else token.norm
    if kind == "mention":
        return "@user"
    if kind == "number":
        return "0"
    if kind == "break":
        return None
    if kind == "punct":
        return token.norm[:3]
    return token.norm


_USER = Token("@user", "mention")


def selected(tokens: Sequence[Token], tags: Collection[str], names: Collection[str]) -> list[Token]:
    """The tokens without what selected the post: hashtags in `tags` (watched hashtags, the brands' own tags) are
    dropped, and words or hashtags in `names` (brand names and terms, folded, spaces removed) become `@user`. They name
    the subject; they are not an opinion about it. Other hashtags (#fail, #top) stay."""
    if not tags and not names:
        return list(tokens)
    out = []
    for t in tokens:
        if t.kind == "word" and (t.norm in tags or t.norm in names):
            if t.hashtag and t.norm in tags:
                continue
            out.append(_USER)
        else:
            out.append(t)
    return out


def extract(
    tokens: Sequence[Token], language: str | None, lexicon: lexicons.Lexicon, has_link: bool = False
) -> tuple[IntArray, FloatArray]:
    """Feature indices and values of a post's tokens (already stripped of the selecting hashtags)."""
    lang = language if language in LANGS else "xx"
    surfaces = [s for s in map(_surface, tokens) if s is not None]
    idx_parts: list[IntArray] = []
    val_parts: list[FloatArray] = []

    text = " " + " ".join(surfaces) + " "
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    h = codes
    n_char = 0
    char_idx: list[IntArray] = []
    for n in range(2, CHAR_NGRAMS[-1] + 1):
        if len(h) < 2:
            break
        h = h[:-1] * _PRIME + codes[n - 1 :]
        char_idx.append(_bucket(h, _SALT[f"c{n}"]))
        n_char += len(h)
    if n_char:
        idx_parts.extend(char_idx)
        val_parts.append(np.full(n_char, 1.0 / np.sqrt(n_char), dtype=np.float32))

    words = [s for s in surfaces if s[0] not in "!?.…;"]
    if words:
        wh = np.array([_word_hash(w) for w in words], dtype=np.uint64)
        word_idx = [_bucket(wh, _SALT["w1"]), _bucket(wh, _SALT["l" + lang])]
        if len(wh) > 1:
            word_idx.append(_bucket(wh[:-1] * _PRIME + wh[1:], _SALT["w2"]))
        count = sum(len(a) for a in word_idx)
        idx_parts.extend(word_idx)
        val_parts.append(np.full(count, 1.0 / np.sqrt(len(words)), dtype=np.float32))

    dense = _dense(tokens, language, lang, lexicon, has_link)
    idx_parts.append(np.array([_SLOT[k] for k in dense], dtype=np.int64))
    val_parts.append(np.array(list(dense.values()), dtype=np.float32))
    return np.concatenate(idx_parts), np.concatenate(val_parts)


def _dense(
    tokens: Sequence[Token], language: str | None, lang: str, lexicon: lexicons.Lexicon, has_link: bool
) -> dict[str, float]:
    sarcastic = senti.has_sarcasm_marker(tokens)
    cue_lang = language if language in cx_rules.COMPLAINT_STRONG else None
    negators = lexicon.negators
    n_words = 0
    elongated = caps = emoji = negation = False
    for t in tokens:
        kind = t.kind
        if kind == "word":
            n_words += 1
            elongated = elongated or t.elongated
            caps = caps or t.caps
            negation = negation or t.norm in negators
        elif kind == "emoji" or kind == "emoticon":
            emoji = True
    valences: list[float] = []
    texts: list[str] = []
    for sentence in sentences(list(tokens)):
        valences.append(senti.sentence_valence(sentence, lexicon, sarcastic))
        texts.append(" ".join([t.norm for t in sentence]))
    joined = " ".join(texts)
    cues = cx_rules.find_cues(joined, cue_lang, tuple(texts), include_english=lang == "xx")
    total = sum(valences)
    compound = senti.normalise(total)
    positive = [v for v in valences if v > 0]
    negative = [v for v in valences if v < 0]
    rule = cx_rules.classify(cues, compound, senti.POSITIVE_AT, senti.NEGATIVE_AT)
    return {
        "bias": 1.0,
        "valence": compound,
        "valence_pos": senti.normalise(sum(positive)),
        "valence_neg": senti.normalise(sum(negative)),
        "sent_max": senti.normalise(max(valences, default=0.0)),
        "sent_min": senti.normalise(min(valences, default=0.0)),
        "n_pos_sent": min(len(positive), 3) / 3,
        "n_neg_sent": min(len(negative), 3) / 3,
        "complaint_strong": min(cues.complaint_strong, 3) / 3,
        "complaint_weak": min(cues.complaint_weak, 3) / 3,
        "cue_question": float(cues.question),
        "cue_suggestion": float(cues.suggestion),
        "cue_praise": float(cues.praise),
        "cue_gratitude": float(cues.gratitude),
        "sarcasm_marker": float(sarcastic),
        "ironic_opener": float(senti.has_ironic_opener(tokens)),
        "question_mark": float("?" in joined),
        "exclamation": float("!" in joined),
        "negation": float(negation),
        "elongated": float(elongated),
        "caps": float(caps),
        "emoji": float(emoji),
        "link": float(has_link),
        "short": float(n_words <= 4),
        "length": min(n_words, 60) / 60,
        f"rule_{rule}": 1.0,
        f"valence_{lang}": compound,
        f"lang_{lang}": 1.0,
    }
