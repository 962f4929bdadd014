"""INSERT ... ON CONFLICT DO NOTHING for many rows at once, cheaper per row on SQLite than SQLAlchemy's own path.

Storing a page of posts writes a few hundred rows into four tables, and SQLAlchemy's generic executemany spends more
time per row (building a parameter dict, running each column's processor through several layers) than SQLite spends
storing it. On SQLite this module converts each value with the very same bind processors SQLAlchemy would use, then
hands plain tuples to the driver: `executemany` without RETURNING, one multi-row statement with it. Other databases go
through SQLAlchemy unchanged (psycopg already batches well).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Row, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

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

    def execute(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> list[Row[Any]]:
        """Insert `rows` (dicts with every column), skipping conflicts; the `returning` columns of the rows inserted."""
        if not rows:
            return []
        dialect = session.get_bind().dialect
        if dialect.name != "sqlite":
            return self._portable(session, dialect, rows)
        processors = self._processors_for(dialect)
        take = self._getter
        try:
            # Most columns need no conversion: take them all in one C call, then convert the few that do.
            params: list[Any] = []
            for row in rows:
                values = list(take(row))
                for index, process in processors:
                    values[index] = process(values[index])
                params.append(tuple(values))
        except (TypeError, ValueError) as exc:
            # The same error SQLAlchemy raises for a value its bind processor refuses, so callers see one kind.
            raise StatementError(str(exc), f"INSERT INTO {self.table.name}", None, exc) from exc
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
            names = ", ".join(self.columns)
            one = "(" + ", ".join("?" for _ in self.columns) + ")"
            target = f" ({', '.join(self.conflict)})" if self.conflict else ""
            values = ", ".join([one] * rows)
            sql = f"INSERT INTO {self.table.name} ({names}) VALUES {values} ON CONFLICT{target} DO NOTHING"
            if self.returning:
                sql += " RETURNING " + ", ".join(self.returning)
            self._sql[rows] = sql
        return sql
