"""Discord's message limits, and text cut or packed to fit them at clean boundaries.

Lengths are counted in UTF-16 code units, which is never less than the code points Discord might count instead:
a digest full of emoji still fits whichever way Discord counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

CONTENT = 2000
EMBEDS = 10
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR = 256
EMBED_TOTAL = 6000
ELLIPSIS = "…"


def dlen(text: str) -> int:
    """The length Discord's limits apply to, counted conservatively (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _cut(text: str, budget: int) -> str:
    # The longest prefix whose dlen fits `budget`.
    out, used = [], 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > budget:
            break
        out.append(ch)
    return "".join(out)


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit`, else cut at a word boundary (or mid-word if there is none) with an ellipsis."""
    if dlen(text) <= limit:
        return text
    if limit <= 0:
        return ""
    head = _cut(text, limit - 1)
    space = max(head.rfind(" "), head.rfind("\n"))
    if space >= len(head) // 2:
        head = head[:space]
    head = head.rstrip()
    # A lone trailing backslash would escape the ellipsis (or leave half an escape); drop it.
    while head.endswith("\\") and (len(head) - len(head.rstrip("\\"))) % 2 == 1:
        head = head[:-1]
    return head + ELLIPSIS


def pack(lines: Iterable[str], limit: int, *, first_limit: int | None = None) -> list[str]:
    """Join lines with newlines into as few chunks as fit `limit` each, splitting only between lines.

    A line longer than a whole chunk is shortened with an ellipsis. `first_limit` bounds the first chunk, for
    when something already shares its space.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    budget = first_limit if first_limit is not None else limit
    for raw in lines:
        line = shorten(raw, limit)
        extra = dlen(line) + (1 if current else 0)
        if current and size + extra > budget:
            chunks.append("\n".join(current))
            current, size, budget = [], 0, limit
            extra = dlen(line)
        if not current and dlen(line) > budget:
            line = shorten(line, budget)
            extra = dlen(line)
        current.append(line)
        size += extra
    if current:
        chunks.append("\n".join(current))
    return chunks


def embed_size(embed: Mapping[str, Any]) -> int:
    """The text of one embed that counts against the 6000 characters of a message."""
    total = dlen(embed.get("title") or "") + dlen(embed.get("description") or "")
    total += dlen((embed.get("footer") or {}).get("text") or "")
    total += dlen((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or []:
        total += dlen(f.get("name") or "") + dlen(f.get("value") or "")
    return total


def limit_problems(payload: Mapping[str, Any]) -> list[str]:
    """Every way `payload` (a message create body) breaks a Discord limit; empty when Discord will accept it."""
    problems = []
    if dlen(payload.get("content") or "") > CONTENT:
        problems.append(f"content is {dlen(payload['content'])} > {CONTENT} characters")
    embeds = payload.get("embeds") or []
    if len(embeds) > EMBEDS:
        problems.append(f"{len(embeds)} embeds > {EMBEDS}")
    if not (payload.get("content") or embeds or payload.get("attachments")):
        problems.append("an empty message (no content, embeds or files)")
    total = 0
    for i, e in enumerate(embeds):
        for key, limit in (("title", TITLE), ("description", DESCRIPTION)):
            if dlen(e.get(key) or "") > limit:
                problems.append(f"embed {i} {key} > {limit}")
        if dlen((e.get("footer") or {}).get("text") or "") > FOOTER:
            problems.append(f"embed {i} footer > {FOOTER}")
        if dlen((e.get("author") or {}).get("name") or "") > AUTHOR:
            problems.append(f"embed {i} author > {AUTHOR}")
        fields = e.get("fields") or []
        if len(fields) > FIELDS:
            problems.append(f"embed {i} has {len(fields)} fields > {FIELDS}")
        for j, f in enumerate(fields):
            if not f.get("name") or dlen(f["name"]) > FIELD_NAME:
                problems.append(f"embed {i} field {j} name empty or > {FIELD_NAME}")
            if not f.get("value") or dlen(f["value"]) > FIELD_VALUE:
                problems.append(f"embed {i} field {j} value empty or > {FIELD_VALUE}")
        total += embed_size(e)
    if total > EMBED_TOTAL:
        problems.append(f"embed text together is {total} > {EMBED_TOTAL}")
    return problems
