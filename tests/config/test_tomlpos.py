"""Finding where a key sits in a TOML file, for error messages."""

from __future__ import annotations

from bot.config.tomlpos import locate_key

DOC = """# comment
timezone = "UTC"

[schedule]
poll_interval = "5m"

[[mastodon.instances]]
url = "https://a"

[[mastodon.instances]]
url = "https://b"
"key with space" = 1
notes = '''
url = "not a key"
'''
after = 2
"""


def test_keys_tables_and_array_elements_are_found() -> None:
    assert locate_key(DOC, ("timezone",)) == 2
    assert locate_key(DOC, ("schedule", "poll_interval")) == 5
    assert locate_key(DOC, ("mastodon", "instances", 1, "url")) == 11
    assert locate_key(DOC, ("mastodon", "instances", 1, "key with space")) == 12
    assert locate_key(DOC, ("mastodon", "instances", 1, "after")) == 16


def test_an_unknown_key_falls_back_to_its_table() -> None:
    assert locate_key(DOC, ("schedule", "nope")) == 4
    assert locate_key(DOC, ("nothing",)) is None
