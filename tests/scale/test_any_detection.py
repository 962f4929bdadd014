"""`any[]` is used only where the instance is seen to honour it: probed against a server that does and one that
does not (mastodon-mock, like GoToSocial, answers the first tag alone)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.sources.mastodon.grouped import GroupedTimeline, group_path, honours_any
from bot.sources.mastodon.timeline import make_client
from tests.scale.anyshim import any_shim


def test_a_server_that_ignores_any_is_detected_and_never_grouped(mastodon: Any) -> None:
    mastodon.post("Alleen thee #thee", user="bob")
    mastodon.post("Alleen koffie #koffie")
    client = make_client(mastodon.url, None, 10)

    assert asyncio.run(honours_any(client, mastodon.url, "koffie", "thee")) is False


def test_a_server_that_honours_any_is_detected_and_one_request_reads_every_tag(mastodon: Any) -> None:
    first = mastodon.post("Alleen koffie #koffie")
    second = mastodon.post("Alleen thee #thee", user="bob")
    third = mastodon.post("Cacao #cacao", user="carol")
    with any_shim(mastodon.url) as shim:
        client = make_client(shim.url, None, 10)
        assert asyncio.run(honours_any(client, shim.url, "koffie", "thee")) is True

        page = asyncio.run(GroupedTimeline(client, shim.url, ["koffie", "thee", "cacao"]).newest())

    assert set(page.ids) == {str(first["id"]), str(second["id"]), str(third["id"])}
    assert shim.merged == 2


def test_tags_that_share_every_post_cannot_tell_and_are_not_taken_as_an_answer(mastodon: Any) -> None:
    mastodon.post("Koffie en thee #koffie #thee")
    with any_shim(mastodon.url) as shim:
        client = make_client(shim.url, None, 10)
        assert asyncio.run(honours_any(client, shim.url, "koffie", "thee")) is None


def test_a_group_names_its_first_tag_in_the_path_and_at_most_four_more_in_any() -> None:
    assert group_path(["koffie"]) == "tag/koffie"
    assert group_path(["koffie", "thee", "café"]) == "tag/koffie?any%5B%5D=thee&any%5B%5D=caf%C3%A9"
    try:
        group_path(["a", "b", "c", "d", "e", "f"])
    except ValueError as exc:
        assert "1 to 5 tags, not 6" in str(exc)
    else:
        raise AssertionError("six tags were accepted")


def test_an_instance_whose_software_is_known_to_ignore_any_is_never_probed_nor_grouped() -> None:
    from bot.daemon.grouping import AnyTagSupport

    def no_client(origin: str) -> Any:
        raise AssertionError("no request may be sent")

    support = AnyTagSupport(no_client, no_client)

    assert asyncio.run(support.probe("https://gts.example", ["koffie", "thee"], "gotosocial")) is False
    assert not support.honoured("https://gts.example")
