"""The README's first commands work as written on a fresh Linux machine after `make run`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _talking_block() -> list[str]:
    text = README.read_text()
    section = text.split("## Talking to it", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README: no sh block under 'Talking to it'"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_puts_ciel_node_on_path_before_using_it() -> None:
    lines = _talking_block()
    first_use = next(i for i, line in enumerate(lines) if line.startswith("ciel-node "))
    activate = [i for i, line in enumerate(lines) if line == "source .venv/bin/activate"]
    assert activate and activate[0] < first_use, "README uses ciel-node before saying how it gets on PATH"
    # ... and the venv really has the command there (the test runs from that venv).
    assert (Path(sys.prefix) / "bin" / "ciel-node").exists()


def test_the_readme_commands_are_not_macos_only() -> None:
    for line in _talking_block():
        assert not line.startswith("open "), f"README: {line!r} is macOS-only; use xdg-open"
