"""Chinese first, English available: the catalog covers every message, and the language is
chosen per request or task without leaking between them."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from crawler import i18n

ROOT = Path(__file__).resolve().parents[2]
# Patterns are relative to the folder being read (web/ for the templates).
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
SOURCES = ("crawler", "alerts", "web", "spiders", "storage")


def _messages_in_code() -> dict[str, str]:
    """Every message id the code and templates use, with where it was seen first."""
    found: dict[str, str] = {}
    for source in SOURCES:
        for filename, line, message, _comments, _context in extract_from_dir(
            ROOT / source, METHODS if source == "web" else METHODS[:1], keywords=KEYWORDS,
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        ):
            # A plural message is keyed by its singular id in the catalog.
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, f"{source}/{filename}:{line}")
    return found


def _catalog() -> dict[str, object]:
    """Every translated message of the Chinese catalog's files; a message translated in two
    files must be translated the same way."""
    merged: dict[str, object] = {}
    for path in sorted((i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            key = str(message.id[0] if isinstance(message.id, tuple) else message.id)
            assert merged.get(key, message.string) == message.string, f"{key!r} translated twice, differently"
            merged[key] = message.string
    return merged


def test_every_message_in_the_code_has_a_chinese_translation() -> None:
    catalog = _catalog()
    untranslated = {
        msgid: where for msgid, where in _messages_in_code().items()
        if not catalog.get(msgid) or (isinstance(catalog[msgid], tuple) and not all(catalog[msgid]))
    }
    assert untranslated == {}


@pytest.mark.parametrize(
    ("value", "language"),
    [("zh", "zh_CN"), ("zh-CN", "zh_CN"), ("zh_Hans_CN", "zh_CN"), ("en", "en"), ("en-GB", "en"),
     ("fr", None), ("", None), (None, None)],
)
def test_language_names_are_read_loosely(value: str | None, language: str | None) -> None:
    assert i18n.parse_language(value) == language


def test_accept_language_picks_the_best_quality_we_speak() -> None:
    assert i18n.negotiate("fr-FR,fr;q=0.9,en;q=0.8,zh-CN;q=0.7") == "en"
    assert i18n.negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert i18n.negotiate("de,fr") is None
    assert i18n.negotiate("en;q=0") is None


def test_chinese_is_the_default_and_english_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIANBAO_LANG", raising=False)
    assert i18n.current_language() == "zh_CN"
    assert i18n.gettext("nianbao archive") == "年报档案库"
    monkeypatch.setenv("NIANBAO_LANG", "en")
    assert i18n.gettext("nianbao archive") == "nianbao archive"
    with i18n.use_language("zh-CN"):  # a request's own language wins over the setting
        assert i18n.gettext("nianbao archive") == "年报档案库"
    assert i18n.current_language() == "en"
