"""Mastodon's HTML `content` to plain text with a real HTML parser (Lexbor, through selectolax)."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

_DROPPED = frozenset({"script", "style"})
_BLOCKS = ("p", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "div", "tr")
# One selector for every node that needs handling: each css() call walks the whole tree, which cost more than the
# handling itself.
_HANDLED = ", ".join(("br", *_DROPPED, *_BLOCKS))
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def html_to_text(html: str) -> str:
    """Drop markup, decode entities, keep link text (whole URLs, including Mastodon's hidden parts) and line breaks."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return html.strip()
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
    text = root.text(separator="", deep=True)
    text = _TRAILING_SPACE.sub("\n", text.replace("\r\n", "\n"))
    return _MANY_BLANK_LINES.sub("\n\n", text).strip()
