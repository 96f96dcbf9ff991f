"""``make typecheck``: mypy over the checkout, each module under the name it is installed as.

mypy names a file after its folders (``bot/service.py`` is ``bot.service``) and cannot follow setuptools'
``package-dir`` mapping, so on its own it finds no ``crmkb.bot`` at all; pyproject.toml makes that an
error rather than a silent ``Any``. This runs mypy with the folders of ``[tool.setuptools.package-dir]``
renamed (``bot`` → ``crmkb.bot``), so every import of the one import root resolves to the checkout's
files. Arguments are mypy's; ``python -m tests.support.typecheck`` with none checks what pyproject.toml
lists.
"""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

from mypy import main as mypy_main
from mypy.fscache import FileSystemCache
from mypy.util import FancyFormatter, count_stats

ROOT = Path(__file__).resolve().parents[2]


def package_dirs(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """``[tool.setuptools.package-dir]``: each package and the checkout's folder it is installed from."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return mapping


def installed_names() -> dict[str, str]:
    """Each mapped folder and the package it installs as: ``{"bot": "crmkb.bot", …}``."""
    return {folder: package for package, folder in package_dirs().items() if folder != package}


def main(argv: list[str] | None = None) -> int:
    fscache = FileSystemCache()
    args = sys.argv[1:] if argv is None else argv
    sources, options = mypy_main.process_options(args, stdout=sys.stdout, stderr=sys.stderr, fscache=fscache)
    names = installed_names()
    for source in sources:
        top, dot, rest = source.module.partition(".")
        if top in names:
            source.module = names[top] + dot + rest
    _, messages, blockers = mypy_main.run_build(
        sources, options, fscache, time.time(), sys.stdout, sys.stderr
    )
    errors, notes, files = count_stats(messages)
    formatter = FancyFormatter(sys.stdout, sys.stderr, options.hide_error_codes)
    color = options.color_output
    if errors:
        print(formatter.format_error(errors, files, len(sources), blockers=blockers, use_color=color))
    else:
        print(formatter.format_success(len(sources), use_color=color))
    if messages and notes < len(messages):
        return 2 if blockers else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
