"""One Analyser for the whole analysis test package: building it loads lexicons and the language models."""

from __future__ import annotations

import pytest

from bot.analysis import Analyser
from bot.config import AnalysisConfig, TopicConfig

TOPICS = [
    TopicConfig(name="sustainability", terms=["sustainability", "duurzaamheid", "duurzaam", "plastic", "recycled*"]),
    TopicConfig(name="delivery", terms=["delivery", "levering", "bezorging", "parcel", "pakket"]),
    TopicConfig(name="price", terms=["price", "prijs", "prijzen", "expensive", "te duur"]),
    TopicConfig(name="service", terms=["customer service", "klantenservice", "helpdesk", "support"]),
]


@pytest.fixture(scope="session")
def analyser() -> Analyser:
    """The default configuration: nl, en, de, fr, es, with the example topics."""
    return Analyser(AnalysisConfig(), TOPICS)
