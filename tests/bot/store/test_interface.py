"""Each implementation has every method of the Store interface, as the interface spells it."""

import ast
import inspect
import typing
from pathlib import Path

import pytest

import bot
from bot.store import Store
from tests.bot.store.implementations import IMPLEMENTATIONS

BOT = Path(bot.__file__).resolve().parent
# What only the store itself may import: the program depends on the interface, not on SQLite.
STORE_ONLY = ("sqlite3", "aiosqlite", "bot.store.sqlite")


def interface_methods() -> list[str]:
    return sorted(
        name for name, value in vars(Store).items() if callable(value) and not name.startswith("_")
    )


def differences(implementation: type, interface: type = Store) -> list[str]:
    """How the implementation's methods differ from the interface's; empty when it satisfies it."""
    found = []
    for name in interface_methods():
        wanted = getattr(interface, name)
        given = getattr(implementation, name, None)
        if given is None:
            found.append(f"{name}: missing")
            continue
        if inspect.iscoroutinefunction(given) != inspect.iscoroutinefunction(wanted):
            found.append(f"{name}: async in one, not in the other")
        expected = [
            (p.name, p.kind, p.default) for p in inspect.signature(wanted).parameters.values()
        ]
        actual = [(p.name, p.kind, p.default) for p in inspect.signature(given).parameters.values()]
        if actual != expected:
            found.append(f"{name}: parameters {actual}, not {expected}")
        elif typing.get_type_hints(given) != typing.get_type_hints(wanted):
            found.append(f"{name}: types {typing.get_type_hints(given)}")
    return found


def program() -> list[tuple[Path, ast.Module]]:
    """Every module of the program outside the store, parsed."""
    return [
        (path, ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(BOT.rglob("*.py"))
        if not path.is_relative_to(BOT / "store")
    ]


def test_the_interface_has_every_method_the_program_calls():
    # Calls on whatever the program names a store: store.x(), self.store.x(), self.bot.store.x().
    called = set()
    for _, module in program():
        for node in ast.walk(module):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                if isinstance(owner, ast.Name | ast.Attribute) and (
                    getattr(owner, "id", None) == "store" or getattr(owner, "attr", None) == "store"
                ):
                    called.add(node.func.attr)
    assert len(called) > 25  # the scan finds them: an empty set would prove nothing
    assert called - set(interface_methods()) == set()


@pytest.mark.parametrize("name", sorted(IMPLEMENTATIONS))
def test_the_implementation_satisfies_the_interface(name):
    assert differences(IMPLEMENTATIONS[name].cls) == []


def test_a_missing_or_different_method_is_found():
    class Partial:
        async def get_meta(self, name: str) -> str | None: ...

        async def set_meta(self, key: str, value: int) -> None: ...

        def schema_version(self) -> int: ...

    found = differences(Partial)
    assert "add_document: missing" in found
    assert any(line.startswith("get_meta: parameters") for line in found)
    assert any(line.startswith("set_meta: types") for line in found)
    assert "schema_version: async in one, not in the other" in found


def test_only_the_store_imports_sqlite():
    offenders = []
    for path, module in program():
        for node in ast.walk(module):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            offenders += [
                f"{path.relative_to(BOT)}: {n}"
                for n in names
                if any(n == m or n.startswith(m + ".") for m in STORE_ONLY)
            ]
    assert offenders == []
