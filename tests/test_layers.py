"""The layers stay honest: who may import what, no import cycles, and modules that say their job."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("bot", "retrieval")
# What each layer must never import (a prefix matches the module and its submodules).
FORBIDDEN = {
    "retrieval": ("bot", "discord", "click", "aiosqlite", "asyncio"),
    "bot.engine": ("discord", "click", "bot.cli", "bot.discord", "bot.main"),
    "bot.store": ("discord", "click", "bot.engine", "bot.cli", "bot.discord", "bot.main"),
    "bot.config": ("discord", "click", "bot.engine", "bot.cli", "bot.discord"),
    "bot.errors": ("discord", "click", "bot.engine", "bot.cli", "bot.discord"),
    "bot.batching": ("discord", "click", "bot.engine", "bot.cli", "bot.discord"),
    "bot.wording": ("discord", "click", "bot.engine", "bot.cli", "bot.discord"),
    "bot.cli": ("discord", "bot.discord", "bot.main"),
    "bot.discord": ("click", "bot.cli", "bot.main"),
}
# Outside bot/discord/, nothing imports discord.py.
DISCORD_LAYER = "bot.discord"
LONGEST_MODULE = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for package in PACKAGES
    for path in sorted((ROOT / package).rglob("*.py"))
}


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (inside functions and TYPE_CHECKING too)."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1 parents
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parents, base])
            found.add(base.strip("."))
            found.update(f"{base}.{alias.name}".strip(".") for alias in node.names)
    return found


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_only_what_its_layer_may(name):
    imports = imported(MODULES[name])
    for layer, forbidden in FORBIDDEN.items():
        if within(name, layer):
            wrong = sorted(m for m in imports for f in forbidden if within(m, f))
            assert not wrong, f"{name} (layer {layer}) imports {wrong}"
    if not within(name, DISCORD_LAYER):
        assert not [m for m in imports if within(m, "discord")], f"{name} imports discord"


def test_no_import_cycles():
    graph = {
        name: {m for m in imported(path) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }
    # A package's own __init__ importing its submodules is how it exports them, not a cycle.
    for name in graph:
        graph[name] = {m for m in graph[name] if not within(name, m) or name == m}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = path[path.index(name) :] + [name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for each in sorted(graph[name]):
            visit(each, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


# Every module with code in it, tests and benchmarks too (an empty __init__.py says nothing).
WRITTEN = sorted(
    path
    for folder in (*PACKAGES, "tests", "benchmarks")
    for path in (ROOT / folder).rglob("*.py")
    if path.stat().st_size
)


@pytest.mark.parametrize("path", WRITTEN, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_module_opens_with_a_line_saying_what_it_is_for(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{path} has no opening docstring"
    assert docstring.splitlines()[0].strip(), f"{path}'s docstring does not open with a line"


@pytest.mark.parametrize("path", WRITTEN, ids=lambda path: str(path.relative_to(ROOT)))
def test_modules_stay_short_enough_to_read(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LONGEST_MODULE, f"{path} has {lines} lines; split it by what it does"


def test_the_engine_store_and_cli_load_without_discord():
    code = (
        "import sys, retrieval, bot.store, bot.engine.library, bot.engine.ingest, bot.cli; "
        "print([m for m in ('discord', 'aiohttp') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
