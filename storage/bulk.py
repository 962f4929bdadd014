"""INSERT ... ON CONFLICT DO NOTHING for many rows at once, cheaper per row than SQLAlchemy's own path.

Storing a page of posts writes a few hundred rows into four tables, and SQLAlchemy's generic executemany spends more
time per row (building a parameter dict, running each column's processor through several layers) than the database
spends storing it. This module converts each value with the very same bind processors SQLAlchemy would use, then
hands plain tuples to the driver:
- SQLite: `executemany` without RETURNING, one multi-row statement with it;
- PostgreSQL (psycopg 3): one short statement in `executemany`, which psycopg pipelines in one round trip and parses
  once. SQLAlchemy's own multi-row VALUES statement was so long that psycopg parsed it afresh for every batch, which
  was half the cost of storing.
Only these two databases are supported (`storage.db` refuses others); `bench/ingest.py` shows what the fast path
pays on each (3,746 -> 6,175 posts/s on PostgreSQL when it was introduced).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import JSON, Row, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    import psycopg

SQLITE_MAX_PARAMETERS = 32_766
"""SQLite's bound-parameter limit since 3.32; a multi-row statement stays below it."""


def conflict_insert(session: Session, table: Any) -> Any:
    """An INSERT for `table` that can take ON CONFLICT clauses, in the dialect of the session's database."""
    module: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(table)


class BulkInsert:
    """One table's conflict-ignoring INSERT for given columns, optionally returning columns of the inserted rows."""

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        conflict: Sequence[str] | None = None,
        returning: Sequence[str] = (),
    ) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.conflict = tuple(conflict) if conflict else None
        self.returning = tuple(returning)
        self._processors: dict[str, list[tuple[int, Callable[[Any], Any]]]] = {}
        # itemgetter of one key returns the value itself, not a 1-tuple; wrap it so every row is a sequence.
        getter = itemgetter(*self.columns)
        self._getter: Callable[[Mapping[str, Any]], Sequence[Any]] = (
            getter if len(self.columns) > 1 else (lambda row: (getter(row),))
        )
        self._sql: dict[int, str] = {}
        """SQLite's multi-row statements, by the rows each inserts."""

    def execute(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Insert `rows` (dicts with every column), skipping conflicts; the `returning` columns of the rows inserted."""
        if not rows:
            return []
        dialect = session.get_bind().dialect
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            return self._psycopg(session, dialect, self._converted(dialect, rows))
        if dialect.name != "sqlite":
            return self._portable(session, dialect, rows)
        params = self._converted(dialect, rows)
        connection = session.connection()
        if not self.returning:
            connection.exec_driver_sql(self._statement(1), params)
            return []
        out: list[Row[Any]] = []
        per_statement = max(1, SQLITE_MAX_PARAMETERS // len(self.columns))
        for start in range(0, len(params), per_statement):
            chunk = params[start : start + per_statement]
            flat = tuple(value for row in chunk for value in row)
            out.extend(connection.exec_driver_sql(self._statement(len(chunk)), flat).all())
        return out

    def _converted(self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        processors = self._processors_for(dialect)
        take = self._getter
        try:
            # Most columns need no conversion: take them all in one C call, then convert the few that do.
            params: list[tuple[Any, ...]] = []
            for row in rows:
                values = list(take(row))
                for index, process in processors:
                    values[index] = process(values[index])
                params.append(tuple(values))
        except (TypeError, ValueError) as exc:
            # The same error SQLAlchemy raises for a value its bind processor refuses, so callers see one kind.
            raise StatementError(str(exc), f"INSERT INTO {self.table.name}", None, exc) from exc
        return params

    def _psycopg(self, session: Session, dialect: Dialect, params: list[tuple[Any, ...]]) -> list[Any]:
        import psycopg  # here, so SQLite-only processes never load libpq (8 MiB)
        from psycopg.rows import namedtuple_row

        # The session's own connection, so the rows are part of its transaction.
        dbapi = cast("psycopg.Connection[Any]", session.connection().connection.dbapi_connection)
        sql = self._pg_statement
        returning = bool(self.returning)
        try:
            with dbapi.cursor(row_factory=namedtuple_row) as cursor:
                cursor.executemany(sql, params, returning=returning)
                out: list[Any] = []
                while returning:
                    out.extend(cursor.fetchall())
                    if not cursor.nextset():
                        break
                return out
        except psycopg.Error as exc:
            # The error SQLAlchemy itself would raise (IntegrityError, OperationalError, ...), as on every other path.
            raise DBAPIError.instance(sql, None, exc, psycopg.Error, dialect=dialect) from exc

    @cached_property
    def _pg_statement(self) -> str:
        # JSON values arrive wrapped for psycopg by their bind processor; the cast matches what SQLAlchemy renders.
        slots = ", ".join("%s::json" if isinstance(self.table.c[c].type, JSON) else "%s" for c in self.columns)
        return self._insert(f"({slots})")

    def _portable(self, session: Session, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> list[Row[Any]]:
        statement = conflict_insert(session, self.table).on_conflict_do_nothing(index_elements=self.conflict)
        if not self.returning:
            session.execute(statement, list(rows))
            return []
        statement = statement.returning(*(self.table.c[c] for c in self.returning))
        return list(session.execute(statement, list(rows)))

    def _processors_for(self, dialect: Dialect) -> list[tuple[int, Callable[[Any], Any]]]:
        found = self._processors.get(dialect.name)
        if found is None:
            found = []
            for index, column in enumerate(self.columns):
                process = self.table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    found.append((index, process))
            self._processors[dialect.name] = found
        return found

    def _statement(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            one = "(" + ", ".join("?" for _ in self.columns) + ")"
            sql = self._sql[rows] = self._insert(", ".join([one] * rows))
        return sql

    def _insert(self, values: str) -> str:
        target = f" ({', '.join(self.conflict)})" if self.conflict else ""
        columns = ", ".join(self.columns)
        sql = f"INSERT INTO {self.table.name} ({columns}) VALUES {values} ON CONFLICT{target} DO NOTHING"
        if self.returning:
            sql += " RETURNING " + ", ".join(self.returning)
        return sql
