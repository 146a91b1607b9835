"""Guards the dependency arrows of ARCHITECTURE.md §2 by parsing imports (ast)."""

from __future__ import annotations

import ast
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
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_engine_and_domain_import_no_io_and_no_outer_layers() -> None:
    for name in ("engine.py", "domain.py"):
        mods = imports(ROOT / "bot" / name)
        tops = {m.split(".")[0] for m in mods}
        assert not tops & IO_LIBS, f"{name} imports {tops & IO_LIBS}"
        assert not {
            m for m in mods if m.startswith(("bot.sheet", "bot.worker", "bot.alerts", "adapters"))
        }


def test_engine_and_domain_read_no_clock() -> None:
    for name in ("engine.py", "domain.py"):
        source = (ROOT / "bot" / name).read_text(encoding="utf-8")
        for forbidden in ("datetime.now", "datetime.utcnow", "date.today", "time.time(", "random."):
            assert forbidden not in source, f"{name} reads the clock or randomness: {forbidden}"


def test_adapters_never_import_the_sheet_worker_or_alerts() -> None:
    for path in (ROOT / "adapters").rglob("*.py"):
        mods = imports(path)
        bad = {
            m
            for m in mods
            if m.startswith(("bot.sheet", "bot.worker", "bot.alerts", "gspread", "slack_sdk"))
        }
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_gateway_and_template_talk_to_gspread_and_only_alerts_to_slack() -> None:
    for path in (ROOT / "bot").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        tops = {m.split(".")[0] for m in imports(path)}
        if "gspread" in tops:
            assert rel in {
                "bot/sheet/gateway.py",
                "bot/sheet/template.py",
                "bot/sheet/emulator.py",
                "bot/bootstrap.py",
            }, rel
        if "slack_sdk" in tops:
            assert rel == "bot/alerts.py", rel


def test_simulators_only_imported_by_demo() -> None:
    for path in list((ROOT / "bot").rglob("*.py")) + [p for p in (ROOT / "adapters").glob("*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        if any(m.startswith("adapters.simulators") for m in imports(path)):
            assert rel == "bot/demo.py", rel
