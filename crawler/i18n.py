"""The language nianbao speaks: Simplified Chinese first, English available.

Every user-facing text of the web app, the CLI and the alerts is written in the code as an
English message id inside ``_()`` (or ``ngettext()``), and read through the message catalog of
the current language (gettext, the Python convention; Babel reads and checks the catalogs).
The Chinese catalog is the ``*.po`` files of ``crawler/locale/zh_CN/LC_MESSAGES/`` (one per part
of the program); English needs no catalog, the message ids are the English text. Table rows and columns keep the form's own
Chinese labels in every language (they are the form's names, not interface text).

The current language is, most specific first: the one set for this request or task
(:func:`use_language`: the web app sets it from ``?lang=`` or ``Accept-Language``), else the
``NIANBAO_LANG`` setting, else Chinese. A context variable carries it, so concurrent web
requests in different languages do not mix.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from storage.settings import environment_value

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "current_language",
    "gettext",
    "negotiate",
    "ngettext",
    "parse_language",
    "translations",
    "use_language",
]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "nianbao"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
# HTML lang attribute values of the languages.
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}

_current: ContextVar[str | None] = ContextVar("nianbao_language", default=None)


def parse_language(value: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh_Hans_CN``, ``en-GB`` … → one of :data:`LANGUAGES`; None otherwise."""
    if not value:
        return None
    primary = value.strip().replace("-", "_").split("_", 1)[0].lower()
    if primary == "zh":
        return "zh_CN"
    if primary == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The best of :data:`LANGUAGES` for an ``Accept-Language`` header (highest q first)."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = parse_language(tag)
        if language is not None and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


def current_language() -> str:
    return _current.get() or parse_language(environment_value("NIANBAO_LANG")) or DEFAULT_LANGUAGE


@contextmanager
def use_language(language: str | None) -> Iterator[str]:
    """Speak ``language`` (or the default) inside the block."""
    token = _current.set(parse_language(language) or None)
    try:
        yield current_language()
    finally:
        _current.reset(token)


@cache
def translations(language: str) -> NullTranslations:
    """The catalog of ``language``, read once: every ``*.po`` file of its folder (one per part of
    the program: the web pages, the CLI, the alerts …), compiled in memory (no build step)."""
    if language == "en":
        return NullTranslations()
    merged: Translations | None = None
    for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer, domain=DOMAIN)
        merged = part if merged is None else merged.merge(part)
    return merged if merged is not None else NullTranslations()


def gettext(message: str, /, **params: Any) -> str:
    """``message`` in the current language, with ``%(name)s`` placeholders filled from ``params``."""
    text = translations(current_language()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, count: int, /, **params: Any) -> str:
    """The singular or plural form for ``count`` (``%(num)d`` is ``count``)."""
    text = translations(current_language()).ngettext(singular, plural, count)
    return text % {"num": count, **params}


def N_(message: str) -> str:
    """Mark a message for the catalog where it is defined; translate it with ``_()`` where it is
    shown (a table of labels built at import time, before any language is chosen)."""
    return message


_ = gettext
