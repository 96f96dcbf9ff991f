"""The data path's layers, checked on every import statement (module level or inside a function).

kb/ → ingest → store → bot → channels, over a shared core: a module imports only from its own layer or the
layers below it, and the bot reads the index only through ``crmkb.ingest.index`` (never Chroma, the
writer or the ingest run). import-linter checks contracts like these, but it finds modules by walking the
package's folder, and the design card's folders are mapped into ``crmkb`` from outside it (pyproject.toml
``package-dir``), so it would see neither ``crmkb.bot`` nor ``crmkb.ingest``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"crmkb": "crmkb", "bot": "crmkb.bot", "ingest": "crmkb.ingest", "evals": "crmkb.evals",
           "prompts": "crmkb.prompts"}  # fmt: skip
# Lowest first. The index store lives in crmkb.ingest (store.py, index.py, artifacts.py): ingest writes it
# and owns its format; the bot reads it through crmkb.ingest.index.
LAYERS = [
    ("core", ("crmkb.core",)),
    ("ingest", ("crmkb.ingest",)),
    ("bot", ("crmkb.bot", "crmkb.prompts")),
    ("evals", ("crmkb.evals",)),
    ("channels", ("crmkb.cli", "crmkb.web", "crmkb.slack", "crmkb.faq", "crmkb.feedback_store",
                  "crmkb.catalog_translate", "crmkb.insights")),
]  # fmt: skip
# What the read path never touches: the store's client and write side, and the ingest run.
BOT_NEVER = ("chromadb", "crmkb.ingest.store", "crmkb.ingest.pipeline", "crmkb.ingest.lock")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([FOLDERS[parts[0]], *parts[1:]])


def modules() -> dict[str, Path]:
    return {module_name(p): p for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*.py"))}


def imports(path: Path, name: str) -> set[str]:
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def layer_of(module: str) -> int | None:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in modules() if m != "crmkb" and layer_of(m) is None]
    assert not unplaced, f"modules in no layer (add them to LAYERS): {unplaced}"


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_go_down_the_layers(module: str) -> None:
    own = layer_of(module)
    if own is None:
        return  # the root package's __init__ imports nothing
    upward = [
        target
        for target in imports(modules()[module], module)
        if (rank := layer_of(target)) is not None and rank > own
    ]
    assert not upward, f"{module} ({LAYERS[own][0]}) imports from a layer above it: {sorted(upward)}"


def test_the_bot_reads_the_index_only_through_its_read_side() -> None:
    touching = {
        module: sorted(
            t for t in imports(path, module) if any(t == n or t.startswith(n + ".") for n in BOT_NEVER)
        )
        for module, path in modules().items()
        if layer_of(module) == 2
    }
    assert not {m: t for m, t in touching.items() if t}


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: an ingest module importing the bot is caught, relative imports resolved."""
    source = tmp_path / "x.py"
    source.write_text("from crmkb.bot.service import Bot\nfrom . import chunking\n", encoding="utf-8")
    found = imports(source, "crmkb.ingest.x")
    assert "crmkb.bot.service" in found and "crmkb.ingest.chunking" in found
    assert layer_of("crmkb.bot.service") == 2 > layer_of("crmkb.ingest.x")  # type: ignore[operator]
