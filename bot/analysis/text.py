"""Turning raw post text into tokens and sentences that the lexicon stages can look up cheaply."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

MAX_CHARS = 4000
"""Only this much of a post is analysed: longer texts are pasted logs or spam, and the cost must stay bounded."""

TokenKind = Literal["word", "number", "mention", "emoji", "emoticon", "punct", "break"]
"""What a token is: a word (hashtags included), an @-mention, an emoji, an emoticon, punctuation or a break."""

# Invisible or direction-changing characters carry no meaning for us but split words ("sl\u200becht") or, as bidi
# overrides, are used to disguise text; lone surrogates cannot even be encoded.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufe00-\ufe0f\ud800-\udfff]")
_COMBINING_RUN = re.compile(r"[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_SKIN_TONE = re.compile("[\U0001f3fb-\U0001f3ff]")

_EMOTICON = (
    r"(?:<3+|</3|[:;=8][-'^o]?[)(\]\[dDpP/\\|*3@oO$]+(?![\w])|[)(][-'^]?[:;=](?![\w])"
    r"|:'-?\(|\^_?\^|[xX]D+\b|-_-|o_O|O_o)"
)
_TOKEN = re.compile(
    r"((?:https?://|www\.)\S+)"
    r"|@(\w+)(?:@[\w.-]+)?"
    r"|(" + _EMOTICON + r")"
    r"|#(\w+)"
    r"|([^\W\d_]+(?:['’][^\W\d_]+)*'?)"
    r"|(\d+(?:[.,:]\d+)*)"
    r"|([!?¡¿]+)"
    r"|([.…;]+|\n)"
    r"|([\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2190-\u21ff\u3297\u3299\u00a9\u00ae])"
)
_REPEAT3 = re.compile(r"(.)\1{2,}")
_REPEAT2 = re.compile(r"(.)\1+")


@dataclass(frozen=True, slots=True)
class Token:
    """One unit of a post: its lower-cased form plus the emphasis a writer put on it.

    Immutable, because `tokenise` hands out the same instance for every occurrence of the same spelling.
    """

    norm: str
    """Casefolded text; for hashtags the tag without `#`; for emoji the single code point."""
    kind: TokenKind
    caps: bool = False
    """Written in capitals (`NOOIT`), which shouts."""
    elongated: bool = False
    """Written with a letter repeated three or more times (`suuuper`), which stresses."""
    hashtag: bool = False


def clean(text: str) -> str:
    """Bounded, NFC-normalised text with invisible characters, bidi overrides, lone surrogates and zalgo removed."""
    if not isinstance(text, str):
        return ""
    if text.isascii():
        # Everything removed below lies outside ASCII, and ASCII is its own NFC: only the bound applies.
        return text[:MAX_CHARS]
    text = _INVISIBLE.sub("", text[: MAX_CHARS * 2])
    text = unicodedata.normalize("NFC", text)
    # After NFC, accents of Latin letters are precomposed; what is still combining is decoration (zalgo).
    text = _COMBINING_RUN.sub("", text)
    return _SKIN_TONE.sub("", text)[:MAX_CHARS]


def squeeze(word: str) -> list[str]:
    """Spellings to try for an elongated word: `suuuuper` -> [`suuper`, `super`]; [] when nothing repeats thrice."""
    if not _REPEAT3.search(word):
        return []
    two = _REPEAT3.sub(r"\1\1", word)
    one = _REPEAT2.sub(r"\1", two)
    return [two, one] if one != two else [two]


_Groups = tuple[str, str, str, str, str, str, str, str, str]
"""What `_TOKEN.findall` yields per match: one string per group, all empty but the one that matched."""

_BREAK = Token(".", "break")
_CACHED_CHUNK = 40
"""Runs of non-space characters up to this long have their tokens cached; longer ones are rare (URLs, spam)."""


def _token(groups: _Groups) -> Token | None:
    _url, mention, emoticon, tag, word, num, bang, stop, emoji = groups
    if word or tag:
        body = word or tag
        if body.isdigit():
            return None
        norm = body.replace("’", "'").casefold()
        elongated = len(norm) > 2 and _REPEAT3.search(norm) is not None
        return Token(norm, "word", len(body) > 1 and body.isupper(), elongated, bool(tag))
    if num:
        return Token(num, "number")
    if bang:
        return Token(bang, "punct")
    if stop:
        return _BREAK
    if emoji:
        return Token(emoji, "emoji")
    if emoticon:
        return Token(emoticon if emoticon[0] == "<" else emoticon.replace("-", "").casefold(), "emoticon")
    if mention:
        # Kept (without the instance) so that `@Acme` still names the brand; no lexicon scores it.
        return Token("@" + mention.casefold(), "mention")
    return None


def _scan(text: str) -> list[Token]:
    # findall on a pattern with groups yields plain tuples, several times cheaper than match objects.
    return [token for token in map(_token, _TOKEN.findall(text)) if token is not None]


@functools.lru_cache(maxsize=1 << 15)
def _chunk_tokens(chunk: str) -> tuple[Token, ...]:
    return tuple(_scan(chunk))


def tokenise(text: str) -> list[Token]:
    """Tokens of already cleaned text; URLs are dropped, hashtags become words, mentions keep only the user."""
    # No token contains white space except the line break, which is one on its own, and no pattern looks past the
    # white space that ends a token. So the tokens of a text are those of its lines' space-separated chunks in order,
    # with a break between lines; and posts repeat the same few thousand chunks, whose tokens are looked up rather
    # than scanned and built again (the regex and the per-token string work otherwise dominate the analysis).
    tokens: list[Token] = []
    extend = tokens.extend
    for n, line in enumerate(text.split("\n")):
        if n:
            tokens.append(_BREAK)
        for chunk in line.split():
            extend(_chunk_tokens(chunk) if len(chunk) <= _CACHED_CHUNK else _scan(chunk))
    return tokens


def sentences(tokens: list[Token]) -> list[list[Token]]:
    """Tokens split into sentences at full stops, line breaks and runs of `!`/`?` (which stay with their sentence)."""
    out: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        if token.kind == "break":
            if current:
                out.append(current)
                current = []
            continue
        current.append(token)
        if token.kind == "punct" and token.norm[-1] in "!?":
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out
