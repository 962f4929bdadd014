"""The features the learned analyser reads: hashed words and character n-grams plus the rule cues, in plain numpy.

Training (`bot.analysis.train`) and inference call the same `extract`, so the hashing matches exactly. A post becomes
a sparse vector given as `(indices, values)`:

- character 2- to 5-grams of the normalised text (words, emoji, `@user` for mentions, `#tag` for hashtags that did
  not select the post, joined by single spaces): they carry across languages and spellings ("vriendelijke",
  "onbeleefde", "sooo") and across word boundaries ("not good");
- word unigrams (language-free and crossed with the language) and bigrams, each worth 1/sqrt(their number); up to
  three words after a negator are marked as negated ("not good" reads "not", "good¬"), as are their bigrams;
- dense cue features in fixed slots past the hashed ones: lexicon polarity (VADER-style, per sentence, with negation,
  boosters, caps and elongation), the complaint / question / suggestion / praise cue patterns, irony markers,
  question form, `!`, emoji, links, and the lexicon score crossed with the language.

Besides these, `vector_rows` finds the post's words in the multilingual word vectors (`bot.analysis.wordvectors`),
which the model reads as the mean of its words' vectors.

Hashing is a rolling polynomial over code points mixed by a Fibonacci multiplier, in uint64 numpy arithmetic (it
wraps, identically on every platform); words are hashed with CRC-32. Nothing depends on Python's randomised `hash`.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.analysis import cx as cx_rules
from bot.analysis import lexicons
from bot.analysis import sentiment as senti
from bot.analysis.text import Token, sentences, squeeze
from bot.analysis.wordvectors import word_key

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
RULE_POSITION = -3
"""Where the rule classifier's one-hot slot sits in `extract`'s indices (counted from the end)."""


def slot(name: str) -> int:
    """The feature index of a dense feature."""
    return _SLOT[name]


_MIX = np.uint64(0x9E3779B97F4A7C15)
_PRIME = np.uint64(1_000_003)
_SHIFT = np.uint64(64 - HASH_BITS)
_SALT = {
    name: np.uint64(zlib.crc32(name.encode()) * 2_654_435_761)
    for name in ("c2", "c3", "c4", "c5", "w1", "w2", *(f"l{lang}" for lang in (*LANGS, "xx")))
}

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


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
_VECTOR_KINDS = frozenset({"word", "emoji", "emoticon"})


def vector_rows(tokens: Sequence[Token], row_of: Callable[[str], int]) -> list[int]:
    """The word-vector rows (`row_of`: a word's row, -1 for none) of a post's words, hashtags (without `#`), emoji
    and emoticons, in order; repeats count again. An elongated word (`suuuper`, `gooood`) takes the row of the first
    of its squeezed spellings that has one (`suuper`, `super`; `good`, `god`): the encoder reads the stretched
    spelling as some other word. Brand names are `@user` by now (see `selected`), so they have none."""
    rows: list[int] = []
    for t in tokens:
        if t.kind in _VECTOR_KINDS:
            if not t.elongated:
                row = row_of(t.norm)
                if row >= 0:
                    rows.append(row)
            else:
                rows.extend(next(([r] for w in squeeze(t.norm) if (r := row_of(w)) >= 0), []))
    return rows


def vector_spellings(tokens: Sequence[Token]) -> list[str]:
    """The spellings `vector_rows` may look up (for building the vocabulary)."""
    out: list[str] = []
    for t in tokens:
        if t.kind in _VECTOR_KINDS:
            out.extend(squeeze(t.norm) if t.elongated else (t.norm,))
    return out


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


_MASK64 = (1 << 64) - 1
_MIX_INT = int(_MIX)
_PRIME_INT = int(_PRIME)
_SHIFT_INT = int(_SHIFT)
_SALT_INT = {k: int(v) for k, v in _SALT.items()}


def _bucket_int(h: int, salt: str) -> int:
    """`_bucket` for one Python int, with the same result."""
    return (((h ^ _SALT_INT[salt]) * _MIX_INT) & _MASK64) >> _SHIFT_INT


_CHAR_SALTS = np.array([_SALT[f"c{n}"] for n in CHAR_NGRAMS], dtype=np.uint64)
assert tuple(range(2, 2 + len(CHAR_NGRAMS))) == CHAR_NGRAMS, "the compiled scorer takes n = 2, 3, ... in order"
HASHING = (
    _PRIME_INT, _MIX_INT, _SHIFT_INT, tuple(_SALT_INT[f"c{n}"] for n in CHAR_NGRAMS), _SALT_INT["w1"], _SALT_INT["w2"]
)
"""The hashing as the compiled scorer (`bot.analysis._speedups`) takes it: prime, multiplier, shift, the salt of each
n of the character n-grams, the salts of the language-free word unigrams and of the bigrams."""


def language_salt(lang: str) -> int:
    """The salt of the language-crossed word unigrams of `lang` (one of LANGS, or "xx")."""
    return _SALT_INT["l" + lang]


def _char_buckets(text: str) -> IntArray:
    """The buckets of the character 2- to 5-grams of `text`, n = 2 first: the top HASH_BITS bits of (rolling hash XOR
    the salt of n) times a Fibonacci multiplier.

    The rolling hashes of every n are bucketed in one pass over their concatenation (the salt repeated per n): ten
    numpy calls fewer than bucketing each n apart. On 30 November that took `extract` on 2,000 TweetEval tweets from
    69.2–73.5 to 67.0–69.0 µs a tweet (best of 5, three alternating runs each), with identical features."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    hashes = []
    h = codes
    for n in CHAR_NGRAMS:
        if len(h) < 2:
            break
        h = h[:-1] * _PRIME + codes[n - 1 :]
        hashes.append(h)
    if not hashes:
        return np.empty(0, dtype=np.int64)
    salts = np.repeat(_CHAR_SALTS[: len(hashes)], [len(x) for x in hashes])
    out: IntArray = ((np.concatenate(hashes) ^ salts) * _MIX >> _SHIFT).view(np.int64)
    return out


@functools.lru_cache(maxsize=1 << 15)
def _word_features(word: str, lang: str) -> tuple[int, int, int]:
    """(hash, language-free unigram bucket, language-crossed unigram bucket) of a word; cached, since posts repeat the
    same few thousand words."""
    h = word_key(word)
    return h, _bucket_int(h, "w1"), _bucket_int(h, "l" + lang)


@dataclass(frozen=True, slots=True)
class Parts:
    """A post's features before they become one sparse vector (`vector`): the compiled scorer reads them as they are."""

    text: str
    """The normalised text whose character n-grams are features (each worth 1/sqrt(their number))."""
    surfaces: list[str]
    """The words, emoji and punctuation of that text, whose word unigrams and bigrams are features (`word_buckets`);
    words in the scope of a negation carry the NEGATED mark."""
    lang: str
    """The language the unigrams are crossed with: one of LANGS, or "xx"."""
    dense: dict[str, float]
    """The dense cue features by name (see DENSE), with their values."""


def dense_slots(dense: Collection[str]) -> list[int]:
    """The feature indices of dense features, by name, in their order."""
    return [_SLOT[k] for k in dense]


def parts(
    tokens: Sequence[Token], language: str | None, lexicon: lexicons.Lexicon, has_link: bool = False
) -> Parts:
    """The features of a post's tokens (already stripped of the selecting hashtags), in their three groups."""
    lang = language if language in LANGS else "xx"
    plain, marked = _surfaces(tokens, lexicons.NEGATORS.get(lang, _NO_NEGATORS))
    # Character n-grams of the whole normalised text, across word boundaries ("not good", "@user thanks").
    return Parts(" " + " ".join(plain) + " ", marked, lang, _dense(tokens, language, lang, lexicon, has_link))


NEGATION_SCOPE = 3
"""How many words after a negator count as negated (fewer if punctuation comes first)."""
NEGATED = "\u00ac"
"""Appended to a negated word's surface ("not good" -> "not", "good\u00ac"): it is another word to the model."""
_NO_NEGATORS: frozenset[str] = frozenset()


def _surfaces(tokens: Sequence[Token], negators: Collection[str]) -> tuple[list[str], list[str]]:
    """The surfaces of the tokens (breaks make none), plain and with the words after a negator marked as negated.

    Marking the scope of a negation is the classic help for a linear model on short text (Das & Chen 2001; the
    NRC-Canada tweet system, Mohammad et al. 2013): "good" after "not" is its own feature, so the model learns that
    negated praise is no praise without a rule saying so. The word bigrams alone see only the next word."""
    plain: list[str] = []
    marked: list[str] = []
    scope = 0
    for t in tokens:
        s = _surface(t)
        if s is None:
            scope = 0
            continue
        plain.append(s)
        kind = t.kind
        if kind == "word":
            if senti.is_negator(t.norm, negators):
                scope = NEGATION_SCOPE
            elif scope:
                scope -= 1
                s += NEGATED
        elif kind == "punct":
            scope = 0
        marked.append(s)
    return plain, marked


def word_buckets(surfaces: Sequence[str], lang: str) -> list[int]:
    """The word features of a post's surfaces: per word (punctuation makes none) its language-free and its
    language-crossed unigram, and its bigram with the word before it."""
    words: list[int] = []
    previous = 0
    for surface in surfaces:
        if surface[0] in "!?.…;":
            continue
        word_hash, free, crossed = _word_features(surface, lang)
        words.append(free)
        words.append(crossed)
        if previous:
            words.append(_bucket_int((previous * _PRIME_INT + word_hash) & _MASK64, "w2"))
        previous = word_hash
    return words


def vector(p: Parts) -> tuple[IntArray, FloatArray]:
    """Feature indices and values of a post's features: character n-grams first, then words, then the dense cues.

    The character n-grams are each worth 1/sqrt(their number), the word features 1/sqrt(the number of words); the
    dense cue features keep their own values."""
    chars = _char_buckets(p.text)
    words = word_buckets(p.surfaces, p.lang)
    n_char, n_word_features = len(chars), len(words)
    dense = p.dense
    idx = np.concatenate([chars, np.array(words + dense_slots(dense), dtype=np.int64)])
    val = np.empty(len(idx), dtype=np.float32)
    if n_char:
        val[:n_char] = 1.0 / math.sqrt(n_char)
    if n_word_features:
        # 1/sqrt(number of words): each word brings two unigram features and a bigram with the word before it.
        val[n_char : n_char + n_word_features] = 1.0 / math.sqrt((n_word_features + 1) // 3)
    val[n_char + n_word_features :] = list(dense.values())
    return idx, val


def extract(
    tokens: Sequence[Token], language: str | None, lexicon: lexicons.Lexicon, has_link: bool = False
) -> tuple[IntArray, FloatArray]:
    """Feature indices and values of a post's tokens (already stripped of the selecting hashtags): `vector(parts())`."""
    return vector(parts(tokens, language, lexicon, has_link))


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
