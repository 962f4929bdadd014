"""Opening a database: engine settings per dialect and migrations applied on start."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import monotonic, sleep
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from bot.model import SUPPORTED_BACKENDS

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_CACHE_KIB = 64 * 1024
SQLITE_WAL_CHECKPOINT_PAGES = 8000
CONNECTION_ERRORS = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
"""Failures of the database itself (down, locked, read-only), which say nothing about the data being written."""


class StorageError(Exception):
    """The database cannot be used; the message says which one (path or host), what is wrong and what to do."""


def where(url: str) -> str:
    """The database a URL points at, for messages: a SQLite file's path, or PostgreSQL's user@host:port/db."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "the configured database"
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite database {parsed.database or ':memory:'}"
    user = f"{parsed.username}@" if parsed.username else ""
    port = f":{parsed.port}" if parsed.port else ""
    return f"PostgreSQL {user}{parsed.host or 'localhost'}{port}/{parsed.database or ''}"


def explain(exc: BaseException, url: str) -> str:
    """One or two lines about a database failure: what, where, and what to do; never SQL or parameters."""
    original = getattr(exc, "orig", None) or exc
    detail = (str(original).strip().splitlines() or [type(original).__name__])[0]
    lowered = detail.lower()
    place = where(url)
    if "unable to open database file" in lowered:
        return f"cannot open {place}: its folder does not exist or is not writable; fix [storage] url or the folder"
    if "readonly database" in lowered or "read-only" in lowered:
        return f"cannot write {place}: the file or its folder is read-only; give Merkwacht write access"
    if "file is not a database" in lowered or "malformed" in lowered:
        return (f"{place} is not a usable SQLite database ({detail}); restore it from a backup, or point "
                "[storage] url at another file")
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return f"{place} refused the login ({detail}); set PGPASSWORD or ~/.pgpass for that user"
    if "could not connect" in lowered or "connection refused" in lowered or "could not translate" in lowered:
        return f"cannot reach {place} ({detail}); is the server running and the host right?"
    if "does not exist" in lowered and "database" in lowered:
        return f"{place}: {detail}; create the database first (createdb)"
    return f"{place}: {detail}"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs: it is the driver Merkwacht installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the CLI read (and `watch` write) while the daemon writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _journal_mode_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    # SQLite caches 2 MiB by default; the unique-uri and mention indexes of a busy year outgrow that quickly.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    # The WAL is copied back into the database (a checkpoint: page writes and an fsync) every 1,000 pages by default,
    # and a checkpoint's cost grows with the number of index pages touched. Every 8,000 pages (a WAL of up to ~32 MiB)
    # copies a page changed by several transactions once instead of several times: bench/ingest.py, 100,000 posts,
    # 5,271-5,876 posts/s of CPU time against 4,700-5,473 with the default, in alternating runs on 1 December.
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_PAGES}")
    cursor.close()


def _journal_mode_wal(cursor: Any) -> None:
    # Switching the journal mode ignores the busy timeout: a process opening a new database file while another one
    # holds its write lock (migrating it, say) got "database is locked" at once. The mode is kept in the file, so it is
    # read first (reading waits as usual), and the switch is retried for as long as the busy timeout would wait.
    deadline = monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return  # done, or a database that has no WAL (":memory:" stays "memory")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or monotonic() > deadline:
                raise
            sleep(0.05)


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args=postgres_password_args())


def postgres_password_args() -> dict[str, Any]:
    """Connection arguments with the password from the file $PGPASSWORD_FILE names, unless $PGPASSWORD is set."""
    # libpq reads PGPASSWORD by itself, but has no PGPASSWORD_FILE: Docker secrets are files, so read it here.
    if os.environ.get("PGPASSWORD") or not os.environ.get("PGPASSWORD_FILE"):
        return {}
    path = Path(os.environ["PGPASSWORD_FILE"])
    try:
        password = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise StorageError(
            f"cannot read the PostgreSQL password file {path} (named by $PGPASSWORD_FILE): {why}"
        ) from None
    return {"password": password} if password else {}


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic configuration that migrates `engine`, without an alembic.ini on disk."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


MIGRATION_LOCK = 7_302_146_002
"""The PostgreSQL advisory lock a migration holds, so processes starting together on one database migrate one at a
time. Not `bot.worker.app.START_LOCK`: a starting worker holds that one on another connection while it migrates."""


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to `revision`, one process at a time.

    Two processes starting at once on one database (two daemons, a daemon and a worker, a daemon and `merkwacht db
    upgrade`) would both find the schema behind and run the same migrations, and one would fail on a table the other
    just made. So the migrations run in one transaction that first takes the database's write lock: the second
    process waits for the first to commit, and only then reads alembic_version, at head.
    """
    config = alembic_config(engine)
    if engine.dialect.name == "sqlite":
        _upgrade_sqlite(engine, config, revision)
        return
    if engine.dialect.name != "postgresql":  # refused by Database; nothing to lock with
        command.upgrade(config, revision)
        return
    with engine.connect() as connection:
        # Transaction-scoped: the commit, a rollback or a dropped connection releases it; nothing can leave it held.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def _upgrade_sqlite(engine: Engine, config: AlembicConfig, revision: str) -> None:
    # SQLite serialises writers, but only per transaction, and Alembic runs SQLite's DDL outside one (Python's sqlite3
    # opens transactions only for INSERT/UPDATE/DELETE): two processes used to interleave their CREATE TABLEs and one
    # failed. BEGIN IMMEDIATE takes the write lock up front, so a second process waits (up to the busy timeout) and
    # then sees the first one's schema. sqlite3's own transaction handling is off meanwhile, or it would commit and
    # begin around our statements; it is put back before the connection returns to the pool.
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        if not isinstance(driver, sqlite3.Connection):  # another SQLite driver: its own transaction rules
            command.upgrade(config, revision)
            return
        isolation = driver.isolation_level
        driver.isolation_level = None
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            driver.isolation_level = isolation


def _require_existing(url: str) -> None:
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        return
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return
    if not Path(database).is_file():
        raise StorageError(
            f"there is no database at {database} ([storage] url); check the path, or run `merkwacht poll` or "
            "`merkwacht run` first to create it"
        )


class Database:
    """An engine with its session factory: the one handle the rest of Merkwacht passes around."""

    def __init__(self, url: str, *, migrate: bool = True, must_exist: bool = False) -> None:
        """Open (and migrate) the database at `url`; raises StorageError saying what is wrong and what to do.

        `must_exist`: for commands that only read, a SQLite file that is not there is an error (a mistyped path
        would otherwise create an empty database, folders and all, and report nothing).
        """
        backend = make_url(url).get_backend_name()
        if backend not in SUPPORTED_BACKENDS:
            raise StorageError(f"{backend!r} databases are not supported: Merkwacht stores to SQLite or PostgreSQL")
        if must_exist:
            _require_existing(url)
        try:
            self.engine = make_engine(url)
        except ModuleNotFoundError as exc:
            raise StorageError(
                f"{where(url)} needs the {exc.name} driver, which is not installed: "
                "pip install 'merkwacht[postgres]'"
            ) from exc
        except OSError as exc:
            raise StorageError(f"cannot create the folder for {where(url)}: {exc.strerror or exc}") from exc
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            try:
                upgrade(self.engine)
            except CommandError as exc:
                self.engine.dispose()
                if "locate revision" in str(exc):
                    raise StorageError(
                        f"{where(url)} was written by a newer Merkwacht than this one ({exc}); upgrade Merkwacht, "
                        "or point [storage] url at another database"
                    ) from exc
                raise StorageError(f"cannot migrate {where(url)}: {exc}") from exc
            except (DatabaseError, InterfaceError) as exc:
                self.engine.dispose()
                raise StorageError(explain(exc, url)) from exc

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together at the end, or not at all."""
        with self.sessions.begin() as session:
            yield session

    def ping(self) -> bool:
        """Whether the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()
