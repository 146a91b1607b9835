"""The people's table of ``python -m bench scale``."""

from __future__ import annotations

from typing import Any

COLUMNS: list[tuple[str, str]] = [
    ("products", "products"),
    ("sheet req/cycle max (mean)", "requests"),
    ("cells read/cycle/product", "sheet_cells_read_per_product"),
    ("bytes read/cycle", "bytes_read_per_cycle"),
    ("largest request", "largest_request_bytes"),
    ("engine ms (max)", "engine"),
    ("bot cycle / 15 s mean (max)", "bot"),
    ("cycle wall / 15 s mean (max)", "wall"),
    ("peak RSS bot*", "peak_rss_mb"),
    ("peak RSS sandbox", "sandbox_peak_rss_mb"),
    ("cold full push (virtual)", "full_push_virtual_s"),
    ("staff edit → mall (max)", "staff"),
]


def _mb(n: float) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{n / 1024:.0f} kB"


def _cell(size: dict[str, Any], key: str) -> str:
    if "error" in size:
        return "error" if key != "products" else f"{size['products']:,}"
    value = size.get(key)
    if key == "products":
        return f"{size['products']:,}"
    if key == "requests":
        return f"{size['sheet_requests_per_cycle']} ({size['sheet_requests_per_cycle_mean']:g})"
    if key in ("bytes_read_per_cycle", "largest_request_bytes"):
        return _mb(float(value or 0))
    if key == "engine":
        return f"{size['engine_ms']:g} ({size['engine_max_ms']:g})"
    if key == "bot":
        return f"{size['bot_cycle_fraction']:.1%} ({size['bot_cycle_max_fraction']:.1%})"
    if key == "wall":
        return f"{size['cycle_wall_fraction']:.1%} ({size['cycle_wall_max_fraction']:.1%})"
    if key in ("peak_rss_mb", "sandbox_peak_rss_mb"):
        return "—" if value is None else f"{value:,.0f} MiB"
    if key == "full_push_virtual_s":
        return ", ".join(f"{k} {v:g} s" for k, v in (value or {}).items())
    if key == "staff":
        if size["staff_edit_latency_s"] is None:
            return "not seen"
        return f"{size['staff_edit_latency_s']:g} s ({size['staff_edit_latency_max_s']:g} s)"
    return str(value)


def table(out: dict[str, Any]) -> str:
    """A Markdown table, one row per size, and the notes that qualify it."""
    heads = [h for h, _ in COLUMNS]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for size in out["sizes"]:
        lines.append("| " + " | ".join(_cell(size, k) for _, k in COLUMNS) + " |")
    machine = out["machine"]
    lines += [
        "",
        f"{out['date']}, Python {machine['python']}, {machine['cpus']} CPUs, {machine['platform']}",
        (
            "* peak RSS of the bot's process (the bot and the bench's thin driver); the "
            "emulator and simulators run in the sandbox process."
            if out.get("mode", "sandbox") == "sandbox"
            else "* --inline (debugging): peak RSS includes the Sheets emulator and the "
            "simulators, which share the bot's process."
        ),
        "bot cycle = cycle wall time minus the time the bot's calls waited on the sandbox "
        "(or, inline, spent inside the doubles).",
    ]
    return "\n".join(lines)
