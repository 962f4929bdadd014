"""Mastodon's HTML `content` to plain text with a real HTML parser (Lexbor, through selectolax)."""

from __future__ import annotations

import html as htmllib
import re

from selectolax.lexbor import LexborHTMLParser

_DROPPED = frozenset({"script", "style"})
_BLOCKS = ("p", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "div", "tr")
# One selector for every node that needs handling: each css() call walks the whole tree, which cost more than the
# handling itself.
_HANDLED = ", ".join(("br", *_DROPPED, *_BLOCKS))
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")

MAX_HTML_CHARS = 256 * 1024
"""HTML beyond this is cut before parsing: far above any instance's post limit (Mastodon's is 500 characters)."""
MAX_DEPTH = 256
"""Deeper nesting is not parsed as a tree: Lexbor's time grows with the square of the depth (100,000 nested `<div>`s
took over a minute of CPU), so such markup is flattened by a linear pass instead."""

_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)[^>]*?(/?)>")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                   "wbr"})
_BLOCK_OR_BREAK = re.compile(r"<(?:br|/?(?:" + "|".join(_BLOCKS) + r"))\b[^>]*>", re.IGNORECASE)
_DROPPED_ELEMENTS = re.compile(r"<(script|style)\b.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_ANY_TAG = re.compile(r"<[^>]*>?")


def nesting_depth(html: str, stop_at: int = MAX_DEPTH) -> int:
    """How deeply elements nest (a linear scan of the tags, stopping once `stop_at` is passed)."""
    depth = deepest = 0
    # A tag ends in ">", so none starts after the last one. Without that bound every "<" of a tail without ">" made the
    # scan read to the end of the text: 256 KiB of `<span a="" ` took over five minutes of CPU.
    for match in _TAG.finditer(html, 0, html.rfind(">") + 1):
        closing, name, self_closing = match.groups()
        if closing:
            depth = max(0, depth - 1)
        elif not self_closing and name.lower() not in _VOID:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_at:
                    break
    return deepest


def _flatten(html: str) -> str:
    # Linear in the size: blocks and breaks become line breaks, other tags vanish, entities are decoded.
    text = _DROPPED_ELEMENTS.sub("", html)
    # As in nesting_depth: a block or break tag ends in ">", and searching the tail after the last one for it would
    # read to the end from every "<br" there.
    end = text.rfind(">") + 1
    text = _BLOCK_OR_BREAK.sub("\n", text[:end]) + text[end:]
    return htmllib.unescape(_ANY_TAG.sub("", text))


def parsed_text(html: str) -> str:
    """The text of any HTML through Lexbor's tree: blocks end in a blank line, <br> is a line break, scripts and
    styles go, the rest is its text."""
    tree = LexborHTMLParser(html)
    root = tree.body
    if root is None:
        return ""
    for node in root.css(_HANDLED):
        tag = node.tag
        if tag == "br":
            node.replace_with("\n")
        elif tag in _DROPPED:
            node.decompose()
        else:
            node.insert_after("\n\n")
    return root.text(separator="", deep=True)


# The markup Mastodon itself writes: <p>, <br>, <a> and <span>, attribute values in double quotes, and the five
# characters it escapes. For such HTML the parser's tree is just the text with the breaks, and reading it with one
# regular expression costs a tenth of building the tree (bench/ingest.py); anything else goes to the parser.
_PLAIN_TAG = re.compile(r'<(/?)(p|br|a|span)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:="[^"]*")?)*)\s*(/?)>')
_OTHER_ESCAPE = re.compile(r"&(?!(?:amp|lt|gt|quot|#39);)")
_SURROGATE = re.compile("[\ud800-\udfff]")


def plain_markup_text(html: str) -> str | None:
    """The text of HTML written the way Mastodon writes it, as the parser would give it; None for any other HTML.

    Accepted: text without `<`, `\r` or NUL; `<p>` blocks (not nested in anything); `<a>` (not nested in `<a>`) and
    `<span>`, closed in order; `<br>`; attribute values in double quotes; `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`.
    tests/normalise holds it to the parser on real statuses and on generated markup, near-misses included."""
    if "\r" in html or "\x00" in html or (not html.isascii() and _SURROGATE.search(html)):
        return None  # the parser turns these into other text (line breaks, nothing)
    out: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in _PLAIN_TAG.finditer(html):
        between = html[position : match.start()]
        if "<" in between:
            return None
        out.append(between)
        closing, name, _, self_closing = match.groups()
        if name == "br":
            if closing:
                return None
            out.append("\n")
        elif self_closing:
            return None
        elif closing:
            if not open_tags or open_tags.pop() != name:
                return None
            if name == "p":
                out.append("\n\n")
        elif (name == "p" and open_tags) or (name == "a" and "a" in open_tags):
            return None
        else:
            open_tags.append(name)
        position = match.end()
    rest = html[position:]
    if "<" in rest or open_tags:
        return None
    out.append(rest)
    text = "".join(out)
    if "&" in text:
        if _OTHER_ESCAPE.search(text):
            return None
        text = htmllib.unescape(text)
    return text


def html_to_text(html: str) -> str:
    """Drop markup, decode entities, keep link text (whole URLs, including Mastodon's hidden parts) and line breaks.

    Bounded: at most MAX_HTML_CHARS are read, and markup nested deeper than MAX_DEPTH is flattened without a parser.
    """
    if not html:
        return ""
    html = html[:MAX_HTML_CHARS]
    if "<" not in html and "&" not in html:
        return html.strip()
    # Nesting deeper than MAX_DEPTH takes more than MAX_DEPTH opening tags of at least three characters ("<a>"):
    # shorter HTML (nearly every post) cannot have it, and is not scanned for it.
    if len(html) > 3 * MAX_DEPTH and nesting_depth(html) > MAX_DEPTH:
        text = _flatten(html)
    else:
        plain = plain_markup_text(html)
        text = plain if plain is not None else parsed_text(html)
    return tidy(text)


def tidy(text: str) -> str:
    """Text as posts keep it: no spaces before a line break, at most one blank line in a row, none at either end."""
    text = _TRAILING_SPACE.sub("\n", text.replace("\r\n", "\n"))
    return _MANY_BLANK_LINES.sub("\n\n", text).strip()
