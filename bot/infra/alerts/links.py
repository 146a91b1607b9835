"""Where a Slack message points staff: the spreadsheet, a tab, the product's row.

The engine knows a product's code, and usually its 商品名 and row; the worker knows
the spreadsheet id (settings) and, once the sheet is open, each tab's sheetId (``gid``)
and the products as last read. :class:`SheetLinks` is built in ``bootstrap`` from those
and handed to the Slack sink, which completes each alert (a drift or a refused push
names a mall code only) and links it: ``…/edit#gid=<tab>&range=A<row>`` opens the row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.core.domain import Alert, AlertKind, Product

SHEET_URL = "https://docs.google.com/spreadsheets/d/{sheet_id}/edit"

PRODUCTS_TAB = "products"

KIND_TABS: Mapping[AlertKind, str] = {
    AlertKind.DRIFT: "listings",
    AlertKind.PUSH_REJECTED: "listings",
    AlertKind.UNASSIGNED: "sales_log",
    AlertKind.MALL_DOWN: "error_log",
    AlertKind.AUTH_FAILED: "error_log",
}
"""The tab an alert about no known product row opens (the one that tells more)."""


def _nothing() -> Mapping[str, object]:
    return {}


@dataclass
class SheetLinks:
    """Links into the shop's spreadsheet; the lookups are late (the sheet opens later)."""

    sheet_id: str
    tab_ids: Callable[[], Mapping[str, int]] = field(default=_nothing)  # type: ignore[assignment]
    """Tab key → sheetId (gid), as the gateway found them."""
    products: Callable[[], Mapping[str, Product]] = field(default=_nothing)  # type: ignore[assignment]
    """商品マスタ as last read: names and rows of the products alerts mention."""

    @property
    def sheet_url(self) -> str:
        """The spreadsheet itself."""
        return SHEET_URL.format(sheet_id=self.sheet_id)

    def url(self, tab: str = "", row: int = 0) -> str:
        """A tab (``#gid=``) and row (``&range=A<row>``) when known, else the spreadsheet."""
        gid = self.tab_ids().get(tab) if tab else None
        if gid is None:
            return self.sheet_url
        link = f"{self.sheet_url}#gid={gid}"
        return f"{link}&range=A{row}" if row > 0 else link

    def alert_url(self, alert: Alert) -> str:
        """Where one alert is best looked at."""
        if alert.row > 0:
            return self.url(alert.tab or PRODUCTS_TAB, alert.row)
        return self.url(KIND_TABS.get(alert.kind, ""))

    def complete(self, alert: Alert) -> Alert:
        """The alert with its product's code, name and row filled in where the sheet knows."""
        products = self.products()
        sku = alert.sku or self._sku_of(products, alert.mall, alert.code)
        product = products.get(sku) if sku else None
        if product is None:
            return alert if sku == alert.sku else alert.model_copy(update={"sku": sku})
        update: dict[str, object] = {"sku": sku, "name": alert.name or product.name}
        if alert.row <= 0 and alert.tab in ("", PRODUCTS_TAB) and product.row > 0:
            update.update(tab=PRODUCTS_TAB, row=product.row)
        return alert.model_copy(update=update)

    @staticmethod
    def _sku_of(products: Mapping[str, Product], mall: str, code: str) -> str:
        """The product whose code column for ``mall`` holds ``code`` ("" if none)."""
        if not (mall and code):
            return ""
        for sku, product in products.items():
            if code in product.codes.get(mall, ()):
                return sku
        return ""


__all__ = ["KIND_TABS", "SHEET_URL", "SheetLinks"]
