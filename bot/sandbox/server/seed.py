"""The first start: a spreadsheet from the template, a small shop on it and on every channel.

The tabs come from the production ``init-sheet`` (``bootstrap.build(...).init_sheet()``,
run against the emulator in process, as the demo does), so the worker finds a sheet it
needs nothing more for: ``python -m bot init-sheet`` against the sandbox is harmless
(it writes nothing) but not needed. The shop is the demo's: its products, sets and
stock (:mod:`bot.sandbox.demo`), each product listed on every channel under the code the
channel's simulator proposes, with the sheet's stock; the codes go into the product's
``<label>コード`` cells, typed as staff would.
"""

from __future__ import annotations

from typing import Any

from adapters import ADAPTERS
from bot.bootstrap import World, build
from bot.infra.secretbox import SecretBox
from bot.sandbox.demo import PRODUCT_HEADERS, PRODUCTS, SETS
from bot.sandbox.server.clock import SandboxClock
from bot.sandbox.server.sheets_auth import ServiceAccount
from bot.sandbox.server.world import SandboxWorld
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.simulators import SimulatedChannel, make_simulator
from bot.sandbox.wiring import sandbox_settings

SHOP_COLUMNS = 7
"""商品コード … 在庫切れ時注文受付: the demo's columns before its hand-picked mall codes."""
SPREADSHEET_TITLE = "zaiko-bot サンドボックス"


def new_world(
    clock: SandboxClock,
    channels: list[str],
    *,
    interval: int = 15,
    sheets_quota: int | None = 60,
    shop: bool = True,
) -> SandboxWorld:
    """A fresh sandbox: spreadsheet, template, key, secret key and (``shop``) the demo's shop.

    Without ``shop`` the tabs are empty and no channel lists anything: a program (the
    benchmark) brings its own catalogue through the control API.
    """
    emulator = SheetsEmulator(clock=clock, quota_per_minute=sheets_quota)
    sheet_id = emulator.create_spreadsheet(SPREADSHEET_TITLE, sheets=("Sheet1",))
    sims = {key: make_simulator(key, clock) for key in channels}
    secret_key = SecretBox.generate_key()
    init_sheet(emulator, sheet_id, sims, secret_key)
    if shop:
        seed_shop(emulator, sheet_id, sims)
    set_interval(emulator, sheet_id, interval)
    return SandboxWorld(
        clock=clock,
        emulator=emulator,
        sheet_id=sheet_id,
        sims=sims,
        account=ServiceAccount.generate(),
        secret_key=secret_key,
        interval=interval,
    )


def init_sheet(
    emulator: SheetsEmulator, sheet_id: str, sims: dict[str, SimulatedChannel], secret_key: str
) -> None:
    """Production's init-sheet for the enabled channels, on the emulator in process."""
    tables = {key: sim.config() for key, sim in sims.items()}
    settings = sandbox_settings(sheet_id=sheet_id, secret_key=secret_key, malls=tables)
    world = World(
        transports={key: sim.transport for key, sim in sims.items()},
        sheets_session=emulator.session(),
        parallel=False,
    )
    build(settings, world).init_sheet()
    emulator.reset_counts()


def seed_shop(emulator: SheetsEmulator, sheet_id: str, sims: dict[str, SimulatedChannel]) -> None:
    """The demo's products and sets, each listed on every channel with its stock."""
    set_skus = {sku for sku, _, _ in SETS}
    header = emulator.get_values(sheet_id, "商品マスタ")[0]
    rows: list[list[Any]] = []
    for number, product in enumerate(PRODUCTS, start=1):
        row: list[Any] = [None] * len(header)
        for name, value in zip(PRODUCT_HEADERS[:SHOP_COLUMNS], product, strict=False):
            row[header.index(name)] = value
        stock = 0 if product[0] in set_skus else int(product[2])
        for key, sim in sims.items():
            code = sim.add_listing(sim.sample_code(number), stock)
            row[header.index(ADAPTERS[key].channel.code_header)] = code
        rows.append(row)
    emulator.set_values(sheet_id, "商品マスタ", "A2", rows)
    emulator.set_values(sheet_id, "セット構成", "A2", [list(s) for s in SETS])


def set_interval(emulator: SheetsEmulator, sheet_id: str, seconds: int) -> None:
    """The 設定 tab's 連動間隔(秒), which the worker follows once it has read the sheet."""
    values = emulator.get_values(sheet_id, "設定")
    for number, row in enumerate(values, start=1):
        if row and row[0] == "連動間隔(秒)":
            emulator.set_values(sheet_id, "設定", f"B{number}", [[seconds]])
            return
