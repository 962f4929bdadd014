"""The daemon's view of the watch list: re-read only when a run-time change was made, cheap to ask often."""

from __future__ import annotations

import asyncio
import logging
import threading

from bot.config import Config
from bot.watch.watchlist import EffectiveWatchList, effective
from storage import watches as store
from storage.db import Database

log = logging.getLogger(__name__)


class LiveWatchList:
    """The effective watch list of one config and database, cached by the audit log's change counter."""

    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config
        self._revision: int | None = None
        self._current: EffectiveWatchList | None = None
        self._applied: int | None = None
        # `current()` is called from the event loop and `refresh()` from a worker thread; both swap the cache.
        self._lock = threading.Lock()

    def _load(self, force: bool) -> tuple[EffectiveWatchList, bool]:
        with self.db.sessions() as session:
            revision = store.revision(session)
            with self._lock:
                if not force and self._current is not None and revision == self._revision:
                    return self._current, False
            current = effective(self.config, store.load(session))
        with self._lock:
            self._current, self._revision = current, revision
        return current, True

    def current(self) -> EffectiveWatchList:
        """The watch list now (one `max()` query when nothing changed)."""
        return self._load(force=False)[0]

    def effective_config(self) -> Config:
        """The effective configuration now: the file's with the run-time changes. Every consumer reads this one."""
        return self.current().config

    def cached(self) -> EffectiveWatchList:
        """The watch list as last read, without asking the database (reads it the first time)."""
        with self._lock:
            if self._current is not None:
                return self._current
        return self.current()

    def _record_lapsed(self, current: EffectiveWatchList) -> None:
        with self.db.transaction() as session:
            store.lock_for_change(session)
            store.mark_lapsed(session, current.lapsed, by="config file")
        for row in current.lapsed:
            log.info("the config file changed %s %s, so its run-time change (%s by %s) no longer applies",
                     row.kind, row.key, "removal" if row.state == "removed" else "addition", row.changed_by)

    def _refresh(self) -> EffectiveWatchList | None:
        current, _ = self._load(force=False)
        if current.lapsed:
            self._record_lapsed(current)
            current, _ = self._load(force=False)
        with self._lock:
            # Tracked apart from the cache: `current()` may have read the change first, for someone else.
            if self._revision == self._applied:
                return None
            self._applied = self._revision
        return current

    async def refresh(self) -> EffectiveWatchList | None:
        """The new watch list when it changed since the last look, else None; records lapsed run-time changes."""
        return await asyncio.to_thread(self._refresh)
