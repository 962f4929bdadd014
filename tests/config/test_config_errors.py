"""The config file: every mistake is named by its key path and line, and said plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, normalise_hashtag, parse_config

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value.problems


def test_the_shipped_example_is_valid_and_complete() -> None:
    config = load_config(EXAMPLE)

    assert config.timezone == "Europe/Amsterdam"
    assert config.brands and config.mastodon.instances and config.topics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[schedule]\npoll_interval = "5 minutes"',
            "schedule.poll_interval (line 2): '5 minutes' is not a duration like 30s, 5m or 1h",
        ),
        ('[schedule]\npoll_interval = "2s"', "schedule (line 1): poll_interval: under 10s would hammer the instances"),
        ('[schedule]\ndigest_at = "25:00"', "schedule.digest_at (line 2): '25:00' is not a time of day like '09:00'"),
        (
            'timezone = "Mars/Olympus"',
            "timezone (line 1): 'Mars/Olympus' is not an IANA time zone like 'Europe/Amsterdam'",
        ),
        ('[storage]\nurl = "merkwacht.db"', "storage.url (line 2): 'merkwacht.db' is not an SQLAlchemy URL"),
        ('[storage]\nurl = "postgresql://u:hunter2@db/m"', "storage.url (line 2): the URL holds a password"),
        ('[storage]\nurl = "mysql://u@db/m"', "storage.url (line 2): 'mysql' databases are not supported: use SQLite"),
        ('[storage]\nurl = "foo://bar"', "storage.url (line 2): 'foo' databases are not supported"),
        ('[mastodon]\nbackfill = "forever"', "mastodon.backfill (line 2): 'forever' is not a duration"),
        ('[mastodon]\nhashtags = ["koffie", "two words"]', "mastodon.hashtags (line 2): 'two words' is not a hashtag"),
        (
            '[[mastodon.instances]]\nurl = "ftp://example.org"',
            "mastodon.instances[0].url (line 2): 'ftp://example.org' is not an http(s) URL",
        ),
        (
            '[[mastodon.instances]]\ntoken = "abc"\nurl = "https://x.org"',
            "mastodon.instances[0].token (line 2): unknown key",
        ),
        ('[[mastodon.instances]]\ntoken_env = "T"', "mastodon.instances[0].url (line 1): required key is missing"),
        ('[[brands]]\nname = "Acme"', "brands[0] (line 1): brand 'Acme' has no terms, hashtags or handles"),
        (
            '[[brands]]\nname = "A"\nterms = ["A"]\n[[brands]]\nname = "B"\nterms = [""]',
            "brands[1].terms (line 6): an empty term matches everything",
        ),
        (
            '[[brands]]\nname = "A"\nterms = ["A"]\nhandles = ["acme"]',
            "brands[0].handles (line 4): 'acme' is not a fediverse handle",
        ),
        (
            '[[brands]]\nname = "A"\nterms = ["A"]\n[[brands]]\nname = "a"\nterms = ["B"]',
            "brands (line 1): brand 'a' is defined twice",
        ),
        (
            '[analysis]\nlanguages = ["dutch"]',
            "analysis.languages (line 2): 'dutch' is not a two-letter ISO 639-1 language code",
        ),
        ('[schedul]\npoll_interval = "5m"', "schedul (line 1): unknown key"),
        ("timezone = ", "not valid TOML"),
    ],
)
def test_each_mistake_is_named_with_its_key_and_line(text: str, expected: str) -> None:
    assert any(expected in p for p in problems(text)), problems(text)


def test_all_problems_are_reported_at_once() -> None:
    found = problems('timezone = "Nowhere"\n[schedule]\npoll_interval = "soon"\ndigest_at = "noon"\n')

    assert len(found) == 3


def test_a_missing_file_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"copy config\.example\.toml"):
        load_config(tmp_path / "config.toml")


def test_hashtags_are_forgiving_where_the_intent_is_clear() -> None:
    config = parse_config('[mastodon]\nhashtags = ["#Koffie", "koffie", "  #AcmeCoffee "]')

    assert config.mastodon.hashtags == ["koffie", "acmecoffee"]
    assert normalise_hashtag("#Café") == "café"


def test_handles_are_normalised() -> None:
    config = parse_config('[[brands]]\nname = "A"\nhandles = ["@Acme@Mastodon.Social"]')

    assert config.brands[0].handles == ["acme@mastodon.social"]


def test_each_instance_watches_global_brand_and_its_own_hashtags_once() -> None:
    config = parse_config(
        '[mastodon]\nhashtags = ["koffie", "acme"]\n[[mastodon.instances]]\nurl = "https://a.example/"\n'
        'hashtags = ["thee"]\n[[brands]]\nname = "Acme"\nhashtags = ["acme", "acmecoffee"]\n'
    )

    [instance] = config.mastodon.instances
    assert instance.url == "https://a.example"
    assert config.watched_hashtags(instance) == ["koffie", "acme", "thee", "acmecoffee"]


def test_tokens_come_from_the_environment_or_a_file_never_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-a-file\n")
    config = parse_config(
        '[[mastodon.instances]]\nurl = "https://a.example"\ntoken_env = "A_TOKEN"\n'
        f'[[mastodon.instances]]\nurl = "https://b.example"\ntoken_file = "{secret}"\n'
    )
    monkeypatch.setenv("A_TOKEN", "from-the-env")

    a, b = config.mastodon.instances
    assert (a.token(), b.token()) == ("from-the-env", "from-a-file")
    assert "from-the-env" not in repr(config) and "from-a-file" not in repr(config)


def test_retention_and_contact_are_checked_and_said_plainly() -> None:
    config = parse_config('[storage]\nretention = "90d"\n[mastodon]\ncontact = "ops@example.org"')
    assert config.storage.retention is not None and config.storage.retention.days == 90
    assert config.mastodon.contact == "ops@example.org"
    assert parse_config('[mastodon]\ncontact = "https://example.org/bot"').mastodon.contact == "https://example.org/bot"

    short = problems('[storage]\nretention = "1d"')
    nonsense = problems('[mastodon]\ncontact = "call me maybe"')

    assert short[0].startswith("storage.retention (line 2): ") and "3d or more" in short[0]
    assert nonsense[0].startswith("mastodon.contact (line 2): 'call me maybe' is neither an e-mail address")


def test_the_user_agent_names_merkwacht_its_version_and_the_operators_contact() -> None:
    from bot.sources.mastodon.timeline import make_client, user_agent

    agent = user_agent("ops@example.org")
    client = make_client("http://127.0.0.1:9", None, 1.0, agent)

    assert agent.startswith("Merkwacht/") and agent.endswith("; ops@example.org)")
    assert client.user_agent == agent
    assert "ops@" not in user_agent(), "no contact unless one is configured"
