"""The rule analyser that came before the learned model: lexicon sentiment plus CX cue rules.

No longer the default (`bot.analysis.Analyser` is); kept as the baseline that `bench/eval_analysis.py` reports beside
the learned model, and because its cue modules (`cx`, `sentiment`) now feed the model as features.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.analysis import cx as cx_rules
from bot.analysis import language as lang_rules
from bot.analysis import lexicons
from bot.analysis import sentiment as senti
from bot.analysis.text import Token, clean, sentences, tokenise
from bot.analysis.topics import TopicMatcher
from bot.config import AnalysisConfig, TopicConfig
from bot.model import Analysis, CxType, Post, SentimentLabel

__all__ = ["RuleAnalyser"]


@dataclass(slots=True)
class _Sentence:
    tokens: list[Token]
    text: str
    """Normalised words joined by single spaces, what the cue patterns read."""
    valence: float


def _brand_keys(brands: Sequence[str]) -> list[str]:
    keys: list[str] = []
    for brand in brands:
        keys.extend(_brand_key(brand))
    return keys


@functools.lru_cache(maxsize=1024)
def _brand_key(brand: str) -> tuple[str, ...]:
    # The same few brand names come with every post: fold each once.
    folded = " ".join(re.findall(r"\w+", brand.casefold()))
    return tuple({folded, folded.replace(" ", "")}) if folded else ()


def _only_tags(sentence: _Sentence) -> bool:
    return all(t.hashtag or t.kind in ("mention", "punct", "emoji", "emoticon") for t in sentence.tokens)


def _mentions_brand(text: str, keys: Sequence[str]) -> bool:
    padded = f" {text.replace('@', '')} "
    return any(f" {key} " in padded for key in keys)


class RuleAnalyser:
    """Builds once (loads lexicons, the restricted language detector), then analyses many posts cheaply."""

    def __init__(self, config: AnalysisConfig, topics: Sequence[TopicConfig] = ()) -> None:
        self.languages = tuple(config.languages)
        self._detector = lang_rules.LanguageDetector(self.languages)
        self._lexicons = lexicons.Lexicons(self.languages)
        self._topics = TopicMatcher(topics)
        # Build lingua now: construction may take a moment, the first post should not.
        self._detector.warm_up()

    def analyse(self, post: Post, brands: Sequence[str] = ()) -> Analysis:
        """Analyse a stored post; `brands` are the names of the brands it matched (for brand-directed CX)."""
        text = post.text
        if post.spoiler_text:
            text = f"{post.spoiler_text}\n{text}"
        return self.analyse_text(text, post.language, brands)

    def analyse_text(self, text: str, language: str | None = None, brands: Sequence[str] = ()) -> Analysis:
        """Analyse plain text; `language` is the declared language, if any. Never raises."""
        declared = lang_rules.normalise_tag(language)
        try:
            return self._analyse(text, declared, brands)
        except Exception:  # the pipeline must keep going whatever a post contains; see the property tests
            return Analysis(language=declared, sentiment="neutral", sentiment_score=0.0, cx="other")

    def _analyse(self, raw: str, declared: str | None, brands: Sequence[str]) -> Analysis:
        text = clean(raw)
        tokens = tokenise(text)
        language = declared or self._detector.detect(text, [t.norm for t in tokens if t.kind == "word"])
        post_lexicon = self._lexicons.of(language)
        sarcastic = senti.has_sarcasm_marker(tokens)
        cue_lang = language if language in cx_rules.COMPLAINT_STRONG else None
        if not sarcastic and senti.has_ironic_opener(tokens):
            # "Oh great, the app crashed again": praise that opens a post about trouble means the opposite. Only a
            # strong cue will do: "Oh nice, my order arrived early again!" has a weak one ("again") and is praise.
            sarcastic = cx_rules.find_cues(" ".join([t.norm for t in tokens]), cue_lang).complaint_strong > 0

        parts: list[_Sentence] = []
        english_seen = language == "en"
        for sentence in sentences(tokens):
            # Mixed-language posts: a sentence whose function words clearly belong to another configured language
            # is scored with that language's lexicon.
            own = lang_rules.vote([t.norm for t in sentence if t.kind == "word"], self.languages)
            lexicon = self._lexicons.of(own) if own and own != language else post_lexicon
            english_seen = english_seen or own == "en"
            valence = senti.sentence_valence(sentence, lexicon, sarcastic)
            parts.append(_Sentence(sentence, " ".join([t.norm for t in sentence]), valence))

        compound = senti.normalise(sum([p.valence for p in parts]))
        texts = tuple([p.text for p in parts])
        cues = cx_rules.find_cues(" ".join(texts), cue_lang, texts, include_english=english_seen)
        cx_compound = compound

        keys = _brand_keys(brands)
        if keys and len(parts) > 1:
            directed = self._brand_scope(parts, keys, cue_lang)
            if directed is not None:
                cues, cx_compound = directed

        cx: CxType = cx_rules.classify(cues, cx_compound, senti.POSITIVE_AT, senti.NEGATIVE_AT)
        label: SentimentLabel = senti.label_for(compound)
        score = compound
        # The label a reader gives follows from what the post does: a complaint without strong words (waiting nine
        # days, a refund not paid) still reads negative, praise in plain words still reads positive.
        if cx == "question" and abs(compound) < 0.5:
            # Asking how to cancel or whether something is possible is not an opinion, whatever words it uses.
            label, score = "neutral", compound * 0.5
        elif cx == "complaint" and label == "neutral":
            label, score = "negative", min(compound, senti.NEGATIVE_AT)
        elif cx == "praise" and label == "neutral":
            label, score = "positive", max(compound, senti.POSITIVE_AT)
        return Analysis(
            language=language,
            sentiment=label,
            sentiment_score=round(max(-1.0, min(1.0, score)), 4),
            cx=cx,
            topics=self._topics.match(text),
        )

    def _brand_scope(
        self, parts: list[_Sentence], keys: Sequence[str], cue_lang: str | None
    ) -> tuple[cx_rules.Cues, float] | None:
        """Cues and compound of the brand's own sentences when the trouble in the post is about something else.

        The case told apart: the complaint comes before the brand is first named, and the sentences that name the
        brand carry no complaint and no negative words ("Train delayed again. At least Koffiebar Bruin is warm.").
        """
        # A closing line of hashtags tags the whole post; it is not a sentence of its own about the brand.
        named = [i for i, p in enumerate(parts) if _mentions_brand(p.text, keys) and not _only_tags(p)]
        if not named or named[0] == 0:
            return None
        before = parts[: named[0]]
        own = [parts[i] for i in named]
        trouble_before = any(p.valence < 0 or cx_rules.find_cues(p.text, cue_lang).complaint_strong for p in before)
        own_cues = cx_rules.find_cues(" ".join(p.text for p in own), cue_lang, tuple(p.text for p in own))
        if not trouble_before or own_cues.complaint_strong or any(p.valence < 0 for p in own):
            return None
        return own_cues, senti.normalise(sum(p.valence for p in own))
