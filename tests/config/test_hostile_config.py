"""Config mistakes that would lose data, leak a secret or confuse: each refused with its key, line and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, parse_config
from bot.config.schema import SecretError

INSTANCE = '[[mastodon.instances]]\nurl = "{}"\n'


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value.problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (INSTANCE.format("http://admin:pw@host.example"), "mastodon.instances[0].url (line 2): the URL of host.example "
                                                          "holds credentials"),
        (INSTANCE.format("https://host.example/@acme"), "has a path (/@acme); give the instance's base URL"),
        (INSTANCE.format("https://host.example/?x=1"), "has a query or fragment"),
        (INSTANCE.format("https://host.example#top"), "has a query or fragment"),
        (INSTANCE.format("https://host.example:99999"), "has a port that is not a number from 0 to 65535"),
        (INSTANCE.format("https://" + "a" * 300 + ".example"), "longer than the 200 Merkwacht accepts"),
        (INSTANCE.format("https://a.example") + INSTANCE.format("HTTPS://A.example:443/"), "is listed twice"),
        ('[discord]\napi_base = "https://u:p@discord.example/api"', "discord.api_base (line 2): the URL of "
                                                                    "discord.example holds credentials"),
        ('[discord]\ntoken_env = "MTIzNDU2.Gx7abc-def_ghi"', "discord.token_env (line 2): must be the NAME of an "
                                                             "environment variable"),
        ('[schedule]\npoll_interval = "999999999999h"', "schedule.poll_interval (line 2): '999999999999h' is longer "
                                                        "than 3650d"),
        ('[mastodon]\nbackfill = "100000d"', "mastodon.backfill (line 2): '100000d' is longer than 3650d"),
        ('[storage]\nurl = "foo://bar"', "storage.url (line 2): 'foo' databases are not supported"),
        ('[[brands]]\nname = "   "\nterms = ["x"]', "brands[0].name (line 2): the name is empty or blank"),
        ('[[brands]]\nname = "' + "b" * 300 + '"\nterms = ["x"]', "a name of 300 characters is longer than the 255"),
        ('[[brands]]\nname = "A"\nterms = ["?"]', "brands[0].terms (line 3): '?' has no letter or digit"),
        ('[[brands]]\nname = "A"\nterms = ["ok", "*"]', "'*' has no letter or digit"),
        ('[[brands]]\nname = "A"\nterms = ["-"]', "'-' has no letter or digit"),
        ('[[brands]]\nname = "A"\nhashtags = ["' + "h" * 300 + '"]', "a hashtag of 300 characters is longer"),
        ('[[topics]]\nname = "t"\nterms = [""]', "topics[0].terms (line 3): an empty term matches everything"),
        ('[analysis]\nlanguages = ["nl", "xx"]', "analysis.languages (line 2): 'xx' is not a language Merkwacht can "
                                                 "detect"),
    ],
)
def test_each_hostile_or_mistaken_value_is_refused_with_its_key_line_and_a_fix(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found


def test_a_token_pasted_into_token_env_is_never_repeated_in_the_error() -> None:
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gx7abc.def-ghi_jkl"
    found = problems(f'[discord]\ntoken_env = "{token}"')
    assert found and all(token not in p and "MTIzNDU2" not in p for p in found)


def test_credentials_in_an_instance_url_are_never_repeated_in_the_error() -> None:
    found = problems(INSTANCE.format("http://admin:s3cret-pw@host.example"))
    assert found and all("s3cret-pw" not in p for p in found)


def test_instance_urls_are_normalised_to_one_spelling_per_server() -> None:
    config = parse_config(INSTANCE.format("HTTPS://Mastodon.Example:443/") + INSTANCE.format("http://b.example:8080"))
    assert [i.url for i in config.mastodon.instances] == ["https://mastodon.example", "http://b.example:8080"]


def test_a_zero_jitter_is_accepted() -> None:
    assert parse_config('[schedule]\npoll_jitter = "0s"').schedule.poll_jitter.total_seconds() == 0


def test_a_token_is_read_from_the_file_its_FILE_variable_names_as_docker_secrets_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "discord_token"
    secret.write_text("from-a-docker-secret\n", encoding="utf-8")
    monkeypatch.delenv("MERKWACHT_T_TOKEN", raising=False)
    monkeypatch.setenv("MERKWACHT_T_TOKEN_FILE", str(secret))
    config = parse_config('[discord]\ntoken_env = "MERKWACHT_T_TOKEN"')
    assert config.discord.token() == "from-a-docker-secret"

    monkeypatch.setenv("MERKWACHT_T_TOKEN", "from-the-environment")
    assert config.discord.token() == "from-the-environment", "the variable itself wins over its _FILE"


def test_a_FILE_variable_naming_a_missing_file_says_which_file_and_which_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MERKWACHT_T_TOKEN", raising=False)
    monkeypatch.setenv("MERKWACHT_T_TOKEN_FILE", str(tmp_path / "nope"))
    config = parse_config('[discord]\ntoken_env = "MERKWACHT_T_TOKEN"')
    with pytest.raises(SecretError, match=r"cannot read the token file .*nope \(named by \$MERKWACHT_T_TOKEN_FILE\)"):
        config.discord.token()
