"""Posts deleted at their origin (a streamed `delete`): removed with their tags, mentions and source ids."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import MentionRow, PostRow, PostSourceRow, PostTagRow


def delete_remote(session: Session, origin: str, remote_ids: Sequence[str]) -> int:
    """Delete the posts known on `origin` under `remote_ids`; how many were stored. Runs in the caller's transaction.

    Children are deleted explicitly rather than left to ON DELETE CASCADE, so a database opened without SQLite's
    foreign keys switched on is cleaned up the same way.
    """
    if not remote_ids:
        return 0
    ids = list(session.scalars(select(PostSourceRow.post_id).where(
        PostSourceRow.origin == origin, PostSourceRow.remote_id.in_(list(remote_ids)))))
    if not ids:
        return 0
    for table in (PostTagRow, MentionRow, PostSourceRow):
        session.execute(delete(table).where(table.post_id.in_(ids)))
    session.execute(delete(PostRow).where(PostRow.id.in_(ids)))
    return len(set(ids))
