"""The shipped learned model: stable hashing, the same features in training and use, selecting hashtags, confidence."""

from __future__ import annotations

import subprocess
import sys
import time
import zlib

import numpy as np
import pytest

from bot.analysis import Analyser, features, lexicons
from bot.analysis.linear import MODEL_DIR, LinearModel
from bot.analysis.text import clean, tokenise
from bot.analysis.train import Example, prepare, split_of, word_matrix
from bot.config import AnalysisConfig, BrandConfig


def _checksum(idx: np.ndarray, val: np.ndarray) -> int:  # type: ignore[type-arg]
    order = np.lexsort((val, idx))
    return zlib.crc32(idx[order].astype("<i8").tobytes() + np.round(val[order], 4).astype("<f4").tobytes())


def test_hashing_does_not_depend_on_the_process() -> None:
    # Recorded once (and the same under any PYTHONHASHSEED): Python's randomised str hash plays no part, else the
    # shipped weights would mean nothing in another process.
    idx, _ = prepare("Bedankt @acme, top service! 😍 #blij", "nl")
    hashed = sorted(int(i) for i in idx if i < features.HASHED)
    assert hashed[:5] == [218, 218, 1458, 3394, 8757]
    assert zlib.crc32(np.array(hashed[:20], dtype="<i8").tobytes()) == 2789302195


def test_training_and_use_read_the_same_features(analyser: Analyser) -> None:
    text = "The app crashed AGAIN, still waiting for a refund 😡 http://example.com"
    idx, val = prepare(text, "en")
    tokens = tokenise(clean(text))
    idx2, val2 = features.extract(tokens, "en", lexicons.load("en"), True)
    assert _checksum(idx, val) == _checksum(idx2, val2)


def test_training_and_use_read_the_same_words() -> None:
    # Training averages word vectors through a sparse matrix; use averages the folded per-word scores. Same words,
    # same mean, so the shipped scores mean what training meant.
    model = LinearModel.load()
    text = "Pésimo servicio, el paquete llegó roootooo 😡 #fail @acme"
    example = Example(text, "es", "x", None, None, "test", ("acme",))
    trained = np.asarray(word_matrix([example], model.words.keys) @ model.words.scores)[0]
    tokens = features.selected(tokenise(clean(text)), (), {"acme"})
    used = model.words.mean(features.vector_rows(tokens, model.words.row_of))
    assert used is not None
    assert np.allclose(trained, used, atol=1e-5)


def test_a_stretched_word_reads_as_the_word_it_stretches() -> None:
    model = LinearModel.load()
    for stretched, word in (("suuuuuper", "super"), ("gooood", "good"), ("greeeeat", "great")):
        got = model.words.mean(features.vector_rows(tokenise(stretched), model.words.row_of))
        want = model.words.mean(features.vector_rows(tokenise(word), model.words.row_of))
        assert got is not None and want is not None
        assert np.array_equal(got, want), stretched


def test_a_post_without_known_words_gets_no_word_part() -> None:
    model = LinearModel.load()
    assert len(model.words) > 50_000
    assert model.words.mean(features.vector_rows(tokenise("qqqzzzx xyzzyq"), model.words.row_of)) is None
    assert model.words.mean([]) is None


@pytest.mark.parametrize(
    ("text", "lang", "words"),
    [
        ("not good service", "en", ["not", "good¬", "service¬"]),
        ("not bad. Great staff", "en", ["not", "bad¬", "great", "staff"]),  # a sentence ends the scope
        ("never had such a slow reply", "en", ["never", "had¬", "such¬", "a¬", "slow", "reply"]),  # three words
        ("geen goede service", "nl", ["geen", "goede¬", "service¬"]),
        ("ce n'est pas bon", "fr", ["ce", "n'est", "pas", "bon¬"]),
        ("non mi piace", "it", ["non", "mi¬", "piace¬"]),
    ],
)
def test_words_after_a_negation_are_other_words_to_the_model(text: str, lang: str, words: list[str]) -> None:
    lexicon = lexicons.load(lang if lang in lexicons.LEXICON_LANGUAGES else "xx")
    parts = features.parts(tokenise(clean(text)), lang, lexicon)

    assert parts.surfaces == words
    assert "¬" not in parts.text  # the character n-grams read the text as written


def test_split_is_fixed() -> None:
    assert split_of("tweeteval_train_en", "1") == split_of("tweeteval_train_en", "1")
    shares = [split_of("x", str(i)) for i in range(10_000)]
    assert 0.67 < shares.count("train") / 10_000 < 0.73
    assert 0.13 < shares.count("test") / 10_000 < 0.17


def test_shipped_model_is_small_and_loads_fast() -> None:
    size = sum(p.stat().st_size for p in MODEL_DIR.glob("model.*"))
    assert size <= 25 * 1024 * 1024
    start = time.perf_counter()
    LinearModel.load()
    assert time.perf_counter() - start < 1.0


def test_watched_hashtags_carry_no_sentiment() -> None:
    plain = Analyser(AnalysisConfig())
    watching = Analyser(AnalysisConfig(), watched=["energie"])
    text = "Neue Tarife ab Januar #energie"
    assert watching.analyse_text(text, "de") == watching.analyse_text("Neue Tarife ab Januar", "de")
    assert plain.analyse_text(text, "de").sentiment_score != watching.analyse_text(text, "de").sentiment_score


def test_brand_tags_and_names_carry_no_sentiment() -> None:
    brand = BrandConfig(name="Super Zon", terms=["SuperZon"], hashtags=["superzon"])
    analyser = Analyser(AnalysisConfig(), brands=[brand])
    bare = analyser.analyse_text("Nieuwe winkel geopend in Utrecht", "nl")
    tagged = analyser.analyse_text("Nieuwe winkel geopend in Utrecht #superzon", "nl")
    assert tagged == bare


def test_other_hashtags_still_count(analyser: Analyser) -> None:
    plain = analyser.analyse_text("Pakket vandaag bezorgd", "nl")
    failed = analyser.analyse_text("Pakket vandaag bezorgd #fail", "nl")
    assert failed.sentiment_score < plain.sentiment_score


@pytest.mark.parametrize(
    "text", ["Thanks, great service!", "Where is my parcel?", "It broke after two days.", "ok", "", "🙂"]
)
def test_every_label_has_a_confidence(analyser: Analyser, text: str) -> None:
    a = analyser.analyse_text(text, "en")
    assert a.sentiment_confidence is not None and 0.0 <= a.sentiment_confidence <= 1.0
    assert a.cx_confidence is not None and 0.0 <= a.cx_confidence <= 1.0
    assert -1.0 <= a.sentiment_score <= 1.0


def test_a_stale_build_of_the_c_scorer_is_left_unused_and_says_so() -> None:
    # An editable install not rebuilt after an update keeps an old _speedups: calling it with today's arguments
    # would fail on every post, so it is not called; the numpy scorer gives the same answers.
    code = (
        "import logging, sys, types\n"
        "stale = types.ModuleType('bot.analysis._speedups'); stale.VERSION = 1\n"
        "sys.modules['bot.analysis._speedups'] = stale\n"
        "logging.basicConfig()\n"
        "from bot.analysis import Analyser, linear\n"
        "from bot.config import AnalysisConfig\n"
        "analysis = Analyser(AnalysisConfig()).analyse_text('Love it, thanks Acme!', 'en')\n"
        "print(linear._speedups is None, analysis.sentiment)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["True", "positive"]
    assert "stale build (interface 1, this code needs 2)" in out.stderr
