"""Settings declared once: the catalogue, ``nianbao settings`` and the README agree, and no
module reads a NIANBAO_* name the catalogue does not declare."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from crawler.cli import cli
from crawler.cli.settings import settings_markdown
from storage.settings import SETTINGS, crawl_defaults, default_of

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ["crawler", "storage", "alerts", "web", "spiders", "scheduler.py"]
NAME = re.compile(r"\bNIANBAO_[A-Z][A-Z0-9_]*[A-Z0-9]\b")


def _source_files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def test_every_setting_name_in_the_code_is_declared_once() -> None:
    declared = [setting.name for setting in SETTINGS]
    assert len(declared) == len(set(declared))
    used = {match for path in _source_files() for match in NAME.findall(path.read_text(encoding="utf-8"))}
    assert used - set(declared) == set()
    assert set(declared) - used == set()  # nothing declared that nothing reads


def test_scrapy_settings_carry_the_declared_defaults() -> None:
    from crawler import settings as scrapy_settings

    for name, value in crawl_defaults().items():
        assert getattr(scrapy_settings, name) == value
    assert default_of("NIANBAO_RETRY_AFTER_MAX") == 300


def test_the_command_lists_every_setting_and_the_readme_table_is_its_output() -> None:
    result = CliRunner().invoke(cli, ["settings", "--all"])
    assert result.exit_code == 0, result.output
    for setting in SETTINGS:
        assert setting.name in result.output
    markdown = CliRunner().invoke(cli, ["settings", "--format", "markdown"])
    assert markdown.exit_code == 0 and markdown.output.strip() == settings_markdown()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_markdown() in readme  # regenerate with `nianbao settings --format markdown`
    internal = [s.name for s in SETTINGS if s.internal]
    assert internal and not any(f"`{name}`" in settings_markdown() for name in internal)
