"""Find the line a key path sits on in a TOML document, so config errors can say where to look.

tomllib keeps no positions, and no maintained TOML library exposes them for keys, so this reads the
document's table headers and key lines itself. It is a locator, not a parser: when it cannot tell, it
returns the nearest enclosing table's line, or None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([^\]\[]+?)\s*\]")
_KEY = re.compile(r"^\s*((?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=")

PathPart = int | str


def _split_dotted(key: str) -> list[str]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+", key)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def key_lines(text: str) -> dict[tuple[PathPart, ...], int]:
    """Map each table and key path in `text` to the 1-based line where it first appears."""
    lines: dict[tuple[PathPart, ...], int] = {}
    counts: dict[tuple[str, ...], int] = {}
    current: tuple[PathPart, ...] = ()
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if match := _ARRAY_TABLE.match(line):
            name = tuple(_split_dotted(match[1]))
            index = counts.get(name, 0)
            counts[name] = index + 1
            current = (*name, index)
            lines.setdefault(current, number)
            lines.setdefault(name, number)
        elif match := _TABLE.match(line):
            current = tuple(_split_dotted(match[1]))
            lines.setdefault(current, number)
        elif match := _KEY.match(line):
            lines.setdefault((*current, *_split_dotted(match[1])), number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


def locate_key(text: str, path: Sequence[PathPart]) -> int | None:
    """The line of `path` (like `("brands", 1, "terms")`), or of its nearest enclosing key or table."""
    found = key_lines(text)
    parts = tuple(path)
    while parts:
        if parts in found:
            return found[parts]
        parts = parts[:-1]
    return None
