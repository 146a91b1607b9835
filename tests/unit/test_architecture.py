"""Guards the layers of docs/ARCHITECTURE.md §2 by parsing imports (ast).

The folders are the layers:

- ``bot/core``    pure: domain types and the engine; no I/O, no clock, no outer layer;
- ``bot/shell``   the cycle, the loop and health: drives core through infra and adapters;
- ``bot/infra``   settings, clock, retry, the sheet gateway and template, Slack;
- ``adapters``    one module per channel plus the registry; knows channels, not sheets;
- ``bot/sandbox`` the emulator, simulators, virtual clock, memory sink and the demo;
- ``bot/__main__.py`` the entry point: the one module that sees production and sandbox.

There are no exemptions: a rule that needs one is a rule to redraw here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IO_LIBS = {
    "gspread",
    "httpx",
    "requests",
    "slack_sdk",
    "google",
    "schedule",
    "time",
    "socket",
    "urllib",
    "random",
    "os",
    "threading",
    "tenacity",
}
ENTRY = "bot/__main__.py"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def files(*folders: str) -> Iterator[tuple[str, set[str]]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), imports(path)


def production() -> Iterator[tuple[str, set[str]]]:
    for rel, mods in files("bot", "adapters"):
        if not rel.startswith("bot/sandbox/") and rel != ENTRY:
            yield rel, mods


def test_core_imports_no_io_and_no_outer_layer() -> None:
    for rel, mods in files("bot/core"):
        tops = {m.split(".")[0] for m in mods}
        assert not tops & IO_LIBS, f"{rel} imports {tops & IO_LIBS}"
        outer = {
            m for m in mods if m.startswith(("bot.", "adapters")) and not m.startswith("bot.core")
        }
        assert not outer, f"{rel} imports {outer}"


def test_core_reads_no_clock() -> None:
    for path in (ROOT / "bot" / "core").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for forbidden in ("datetime.now", "datetime.utcnow", "date.today", "time.time(", "random."):
            assert forbidden not in source, (
                f"{path.name} reads the clock or randomness: {forbidden}"
            )


def test_adapters_know_channels_not_sheets_shell_or_slack() -> None:
    for rel, mods in files("adapters"):
        bad = {
            m
            for m in mods
            if m.startswith(("bot.infra.sheet", "bot.shell", "bot.infra.alerts", "bot.bootstrap"))
            or m.split(".")[0] in {"gspread", "slack_sdk"}
        }
        assert not bad, f"{rel} imports {bad}"


def test_infra_never_imports_the_shell() -> None:
    for rel, mods in files("bot/infra"):
        bad = {m for m in mods if m.startswith(("bot.shell", "bot.bootstrap", "bot.cli"))}
        assert not bad, f"{rel} imports {bad}"


def test_only_the_sheet_package_talks_to_gspread_and_only_alerts_to_slack() -> None:
    for rel, mods in production():
        tops = {m.split(".")[0] for m in mods}
        if "gspread" in tops:
            assert rel.startswith("bot/infra/sheet/"), rel
        if "slack_sdk" in tops:
            assert rel.startswith("bot/infra/alerts"), rel


def test_no_production_module_imports_the_sandbox() -> None:
    for rel, mods in production():
        bad = {m for m in mods if m.startswith("bot.sandbox")}
        assert not bad, f"{rel} imports {bad}"


def test_sandbox_only_dependencies_are_imported_lazily() -> None:
    """openpyxl is optional ([sandbox] extra): only inside a function, never at the top."""
    for rel, _ in files("bot", "adapters"):
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        for node in tree.body:
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] == "openpyxl" for n in names), rel


MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 800


def test_production_functions_fit_on_a_screen() -> None:
    long: list[str] = []
    for rel, _ in production():
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{rel}:{node.lineno} {node.name} ({length} lines)")
    assert not long, long


def test_production_modules_stay_small() -> None:
    big = [
        f"{rel} ({n} lines)"
        for rel, _ in production()
        if (n := len((ROOT / rel).read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not big, big
