"""`merkwacht watch`: the watch list changed from the terminal, stored in the database, validated like the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.watch.service import WatchService
from storage.db import Database
from tests.watch.helpers import config_of, merkwacht, write_config


@pytest.fixture
def config_path(tmp_path: Path, db_url: str) -> Path:
    """A config file on SQLite and on PostgreSQL."""
    return write_config(tmp_path / "config.toml", db_url)


def timelines(config_path: Path) -> list[tuple[str, str]]:
    config = config_of(config_path)
    db = Database(config.storage.url)
    try:
        return WatchService(db, config).current().timelines
    finally:
        db.close()


def test_list_shows_where_each_entry_comes_from(config_path: Path) -> None:
    merkwacht(config_path, "watch", "add", "hashtag", "#Thee")
    out = merkwacht(config_path, "watch", "list").output
    assert "#koffie" in out and "#thee" in out and "brand Acme" in out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3}
    assert "config" in lines["#koffie"]
    assert "runtime" in lines["#thee"] and "cli:" in lines["#thee"]


def test_an_added_hashtag_is_polled_on_every_instance(config_path: Path) -> None:
    result = merkwacht(config_path, "watch", "add", "hashtag", "#Thee")
    assert result.exit_code == 0, result.output
    assert "now watching #thee" in result.output
    assert ("http://127.0.0.1:9", "thee") in timelines(config_path)


def test_a_hashtag_for_a_brand_counts_for_that_brand(config_path: Path) -> None:
    merkwacht(config_path, "watch", "add", "hashtag", "acmecoffee", "--brand", "acme")
    config = config_of(config_path)
    db = Database(config.storage.url)
    try:
        brand = WatchService(db, config).current().brand("Acme")
    finally:
        db.close()
    assert brand is not None and brand.hashtags == ["acme", "acmecoffee"]


def test_a_new_brand_with_its_hashtags(config_path: Path) -> None:
    result = merkwacht(config_path, "watch", "add", "brand", "Zed", "--term", "Zed Tea", "--hashtag", "#ZedTea")
    assert result.exit_code == 0, result.output
    assert ("http://127.0.0.1:9", "zedtea") in timelines(config_path)
    assert "brand Zed" in merkwacht(config_path, "watch", "list").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "hashtag", "acme coffee"], "'acme coffee' is not a hashtag"),
        (["add", "hashtag", "thee", "--brand", "Nope"], "there is no brand 'Nope'"),
        (["add", "hashtag", "thee", "--instance", "ftp://example.org"], "not an http(s) URL"),
        (["add", "brand", "Empty"], "has no terms, hashtags or handles"),
        (["add", "brand", "Acme2", "--hashtag", "no spaces"], "is not a hashtag"),
        (["add", "channel", "general"], "is not a channel id"),
        (["remove", "hashtag", "thee"], "#thee is not watched"),
        (["remove", "brand", "Nope"], "there is no brand 'Nope'"),
    ],
)
def test_bad_input_is_refused_with_the_config_files_words_and_nothing_saved(
    config_path: Path, args: list[str], message: str
) -> None:
    assert merkwacht(config_path, "db", "upgrade").exit_code == 0  # history reads a database: there is one
    before = merkwacht(config_path, "watch", "history").output
    result = merkwacht(config_path, "watch", *args)
    assert result.exit_code != 0
    assert message in result.output and "not changed" in result.output
    assert merkwacht(config_path, "watch", "history").output == before


def test_a_channel_cannot_be_added_without_a_way_to_check_the_bot_can_read_it(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    result = merkwacht(config_path, "watch", "add", "channel", "123456")
    assert result.exit_code != 0 and "no Discord token" in result.output


def test_a_config_hashtag_removed_at_run_time_stays_removed(config_path: Path) -> None:
    result = merkwacht(config_path, "watch", "remove", "hashtag", "koffie")
    assert "stays removed until the config file changes it" in result.output
    assert ("http://127.0.0.1:9", "koffie") not in timelines(config_path)
    # A restart reads the same config and the same database: still removed.
    assert ("http://127.0.0.1:9", "koffie") not in timelines(config_path)
    line = next(x for x in merkwacht(config_path, "watch", "list").output.splitlines() if "#koffie" in x)
    assert "removed" in line


def test_changing_the_config_entry_ends_the_run_time_removal(config_path: Path, db_url: str) -> None:
    merkwacht(config_path, "watch", "remove", "hashtag", "koffie")
    # The operator now also lists #koffie on the instance itself: the config changed that entry, so it wins.
    instance = 'url = "http://127.0.0.1:9"\n'
    text = config_path.read_text().replace(instance, instance + 'hashtags = ["koffie"]\n')
    config_path.write_text(text)
    assert ("http://127.0.0.1:9", "koffie") in timelines(config_path)


def test_a_removed_hashtag_can_be_added_back(config_path: Path) -> None:
    merkwacht(config_path, "watch", "remove", "hashtag", "koffie")
    merkwacht(config_path, "watch", "add", "hashtag", "koffie")
    assert ("http://127.0.0.1:9", "koffie") in timelines(config_path)


def test_history_records_who_changed_what(config_path: Path) -> None:
    merkwacht(config_path, "watch", "add", "hashtag", "thee")
    merkwacht(config_path, "watch", "remove", "hashtag", "thee")
    out = merkwacht(config_path, "watch", "history").output.splitlines()
    assert "remove hashtag thee" in out[0] and "add hashtag thee" in out[1]
    assert all("cli:" in line for line in out)



def test_a_brand_hashtag_added_for_one_instance_is_polled_only_there(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", f"sqlite:///{tmp_path / 'm.db'}",
                        instances=("http://a.example", "http://b.example"))
    added = merkwacht(path, "watch", "add", "hashtag", "zed", "--instance", "http://A.example/", "--brand", "Acme")

    assert added.output.strip() == "now watching #zed on http://a.example for brand Acme"
    assert ("http://a.example", "zed") in timelines(path)
    assert ("http://b.example", "zed") not in timelines(path), "said 'on http://a.example', so only there"
    merkwacht(path, "watch", "add", "hashtag", "zed", "--brand", "Acme")
    assert ("http://b.example", "zed") in timelines(path), "added everywhere too: now polled everywhere"
