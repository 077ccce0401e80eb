"""Write a benchmark's figures into its section of BENCHMARKS.md."""

from __future__ import annotations

import re
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def write_section(name: str, body: str, command: list[str] | None = None) -> None:
    """Replace the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``."""
    command = command if command is not None else [Path(sys.argv[0]).as_posix(), *sys.argv[1:]]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"Command: `python {shlex.join(command)}` (run {stamp})\n\n{body.strip()}\n"
    text = BENCHMARKS.read_text(encoding="utf-8")
    pattern = re.compile(rf"(<!-- bench:{re.escape(name)} -->\n).*?(<!-- /bench:{re.escape(name)} -->)", re.S)
    if not pattern.search(text):
        text += f"\n## {name}\n<!-- bench:{name} -->\n<!-- /bench:{name} -->\n"
    text = pattern.sub(lambda m: m.group(1) + block + m.group(2), text)
    BENCHMARKS.write_text(text, encoding="utf-8")
