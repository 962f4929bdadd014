"""`merkwacht forget ACCOUNT`: erase everything stored from one person, whichever source it came from.

Logged by counts only: what the person wrote is exactly what they asked to have removed.
"""

from __future__ import annotations

import logging
import re

import click

from bot.cli.context import Context

log = logging.getLogger(__name__)

_FEDIVERSE = re.compile(r"^@?[\w.-]+@[\w.-]+(?::\d{1,5})?$")
_DISCORD_ID = re.compile(r"^\d{15,21}$")


def normalise_account(account: str) -> str:
    """`@BrandFan@localhost:8702` -> `brandfan@localhost:8702`; a Discord user id as it is; else ClickException."""
    text = account.strip()
    if _DISCORD_ID.match(text):
        return text
    if _FEDIVERSE.match(text):
        return text.lstrip("@").casefold()
    raise click.BadParameter(
        f"{account!r} is neither a fediverse handle like '@someone@mastodon.social' nor a Discord user id (the "
        "15-21 digit number Discord shows with Developer Mode on)", param_hint="ACCOUNT"
    )


@click.command()
@click.argument("account")
@click.pass_obj
def forget(ctx: Context, account: str) -> None:
    """Erase every post stored from ACCOUNT (a fediverse handle or a Discord user id), with its tags and mentions."""
    from storage.db import Database
    from storage.deletions import delete_by_author, delete_skipped_of

    handle = normalise_account(account)
    db = Database(ctx.config.storage.url)
    try:
        with db.transaction() as session:
            removed = delete_by_author(session, [handle])
            # A post that could not be stored is recorded by its uri, which names its author.
            skipped = delete_skipped_of(session, handle)
    finally:
        db.close()
    log.info("forget: erased %d posts, %d tags, %d brand mentions, %d instance ids and %d skipped-post records of "
             "one account", removed.posts, removed.tags, removed.mentions, removed.sources, skipped)
    noun = "post" if removed.posts == 1 else "posts"
    click.echo(f"Erased {removed.posts} {noun} by {handle}, with {removed.tags} hashtags, {removed.mentions} brand "
               f"mentions and {removed.sources} per-instance ids ({skipped} records of posts that could not be "
               "stored). Digests already sent are not changed.")
