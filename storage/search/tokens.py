"""Index tokens and the query languages built from them (pure functions, no database).

Every run of CJK characters becomes its overlapping bigrams plus the run's last character; Latin
letters and digits form lower-cased words. A query becomes :class:`Phrase` objects of the same
tokens, which :func:`fts5_query` and :func:`tsquery_literal` turn into the two backends' match
expressions; :func:`tsvector_literal` and :func:`signature` build what PostgreSQL stores per row.
Tokens are made only of letters, digits and CJK characters, so quoting them keeps any query
syntax out of those expressions.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.models import SIGNATURE_BITS

__all__ = [
    "FACET_MARK",
    "MAX_FACET_YEARS",
    "SEGMENT",
    "TOKEN_RUN",
    "Phrase",
    "facet_tokens",
    "fts5_query",
    "index_tokens",
    "lexeme_positions",
    "phrases_in",
    "query_phrases",
    "signature",
    "tsquery_literal",
    "tsvector_literal",
    "tsvector_text",
]

# CJK ideographs (unified, extension A, compatibility, extensions B and beyond), kana, hangul.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
#: A CJK run, or a word of other letters and digits (``[^\W_]`` minus CJK).
TOKEN_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>(?:(?![{_CJK}])[^\W_])+)")
#: A query segment: letters, digits and CJK without separators between them.
SEGMENT = re.compile(r"[^\W_]+")

#: The columns a user's words are looked for in (``facets`` holds the filter tokens).
_TEXT_COLUMNS = "{title body attachments}"
#: tsvector weights on PostgreSQL per section (so ts_rank in ad-hoc SQL ranks titles highest).
_TSV_WEIGHTS = ("A", "D", "D", "B")
#: Facet lexemes on PostgreSQL start with a character query tokens never contain.
FACET_MARK = "#"
#: Longest report-year range a filter turns into index facets (longer: checked on rows only).
MAX_FACET_YEARS = 40
# tsvector limits: positions go up to 16383, a lexeme keeps at most 256 positions.
_MAX_POSITION = 16383
_MAX_POSITIONS_PER_LEXEME = 256


def index_tokens(text: str | None) -> list[str]:
    """The index tokens of ``text``: CJK bigrams plus each run's last character, Latin words."""
    tokens: list[str] = []
    for match in TOKEN_RUN.finditer((text or "").lower()):
        run = match.group("cjk")
        if run is None:
            tokens.append(match.group("word"))
            continue
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        tokens.append(run[-1])
    return tokens


@dataclass(frozen=True)
class Phrase:
    """Tokens that must occur in a row; ``prefix``: the last one may be the start of a token."""

    tokens: tuple[str, ...]
    prefix: bool = False


def query_phrases(query: str | None) -> list[Phrase]:
    """The phrases a query asks for, all of which must match (empty: the query finds nothing).

    Each segment of letters/digits/CJK between separators becomes a phrase of the same tokens
    the indexed text produces for it. A trailing 1-character CJK run becomes a prefix token, as
    in the text it may be the first half of a bigram.
    """
    phrases: list[Phrase] = []
    for segment in SEGMENT.findall((query or "").lower()):
        runs = list(TOKEN_RUN.finditer(segment))
        tokens: list[str] = []
        prefix = False
        for position, match in enumerate(runs):
            last = position == len(runs) - 1
            run = match.group("cjk")
            if run is None:
                tokens.append(match.group("word"))
            elif len(run) == 1:
                tokens.append(run)
                prefix = last
            else:
                tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
                if not last:  # the text has the run's last character here too
                    tokens.append(run[-1])
        if tokens:
            phrase = Phrase(tuple(tokens), prefix)
            if phrase not in phrases:
                phrases.append(phrase)
    return phrases


def phrases_in(text_: str, phrases: Sequence[Phrase]) -> bool:
    """Whether every phrase occurs in ``text_`` as the index would match it: its tokens in a
    row among the text's index tokens (a prefix phrase's last token starting one of them)."""
    stream = " " + " ".join(index_tokens(text_)) + " "
    for phrase in phrases:
        needle = " " + " ".join(phrase.tokens) + ("" if phrase.prefix else " ")
        if needle not in stream:
            return False
    return True


def fts5_query(phrases: Sequence[Phrase], facets: Sequence[Sequence[str]] = ()) -> str:
    """An FTS5 MATCH expression: quoted phrases joined by AND, in the text columns, and for each
    facet group (alternatives, e.g. the sites asked for) one of its tokens in ``facets``.

    Tokens never contain quotes, so quoting them is enough to keep any syntax out.
    """
    parts = []
    for phrase in phrases:
        quoted = '"' + " ".join(phrase.tokens) + '"'
        parts.append(quoted + " *" if phrase.prefix else quoted)
    expression = f"{_TEXT_COLUMNS} : (" + " AND ".join(parts) + ")"
    for group in facets:
        expression += " AND facets : (" + " OR ".join(f'"{token}"' for token in group) + ")"
    return expression


def tsquery_literal(phrases: Sequence[Phrase], facets: Sequence[Sequence[str]] = ()) -> str:
    """A tsquery in its text form: ``('政府' <-> '府信') & '公':* & ('#s7' | '#s9')``."""
    parts = []
    for phrase in phrases:
        lexemes = [f"'{token}'" for token in phrase.tokens]
        if phrase.prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")" if len(lexemes) > 1 else lexemes[0])
    for group in facets:
        alternatives = [f"'{FACET_MARK}{token}'" for token in group]
        parts.append("(" + " | ".join(alternatives) + ")" if len(alternatives) > 1 else alternatives[0])
    return " & ".join(parts)


def facet_tokens(site_id: int | None, report_year: int | None) -> list[str]:
    """The filter tokens indexed with a version: its site and its report year."""
    tokens = []
    if site_id is not None:
        tokens.append(f"s{int(site_id)}")
    if report_year is not None:
        tokens.append(f"y{int(report_year)}")
    return tokens


def tsvector_literal(sections: Sequence[Sequence[str]]) -> str:
    """A tsvector in its text form from token lists (title, body, attachments), with positions,
    plus facet lexemes (``#s7``, ``#y2023``) when a fourth list is given.

    Positions run on across sections. Past position 16383 (PostgreSQL's limit) a lexeme is still
    indexed, without further positions, so long reports match every term but phrase positions
    are exact in the first 16383 tokens only.
    """
    return tsvector_text(lexeme_positions(sections))


def lexeme_positions(sections: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    """Each lexeme of :func:`tsvector_literal`'s sections with its weighted positions."""
    positions: dict[str, list[str]] = {}
    position = 0
    for index, (tokens, weight) in enumerate(zip(sections, _TSV_WEIGHTS, strict=False)):
        for token in tokens:
            if index == 3:
                token = FACET_MARK + token
            position += 1
            kept = positions.setdefault(token, [])
            if position <= _MAX_POSITION and len(kept) < _MAX_POSITIONS_PER_LEXEME:
                kept.append(f"{position}{weight}")
    return positions


def tsvector_text(positions: dict[str, list[str]]) -> str:
    """The tsvector text form of :func:`lexeme_positions`' result."""
    return " ".join(
        f"'{token}':{','.join(kept)}" if kept else f"'{token}'" for token, kept in positions.items()
    )


def signature(lexemes: Iterable[str]) -> str:
    """A row's lexeme signature as the text of a ``bit(SIGNATURE_BITS)``: bit ``crc32(lexeme)
    mod SIGNATURE_BITS`` set for each lexeme (facets with their ``#`` mark, as in the tsvector).

    A query's signature has the bits of the lexemes every match must contain, so a row whose
    signature lacks one of them cannot match and its tsvector need not be read; a row that has
    them all may still not match (another lexeme set the bit) and is checked on the tsvector.
    """
    bits = bytearray(SIGNATURE_BITS // 8)
    for lexeme in set(lexemes):
        bit = zlib.crc32(lexeme.encode("utf-8")) % SIGNATURE_BITS
        bits[bit >> 3] |= 0x80 >> (bit & 7)
    return "".join(_BYTE_BITS[byte] for byte in bits)


_BYTE_BITS = [format(byte, "08b") for byte in range(256)]
