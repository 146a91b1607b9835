"""Amazon's bulk paths: JSON_LISTINGS_FEED for large pushes, the listings report for reads.

Both are asynchronous on Amazon's side: a document is created and Amazon processes it
over minutes. A feed is never waited for (``feeds``: one look a cycle); a push's
existence check may wait for a listings report. Waits go through the clock with the
stop event, so SIGTERM cuts them short and the virtual clock makes them instant.
"""

from __future__ import annotations

import csv
import io
import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from adapters.amazon.wire import SpApi, document_text
from adapters.base import Stopped, TokenBucket, TransientError


@dataclass(frozen=True)
class ListingRow:
    """One SKU of the merchant-listings report."""

    sku: str
    quantity: int | None
    """Merchant-fulfilled quantity; None for an FBA listing (Amazon leaves it blank)."""
    afn: bool
    """Fulfilled by Amazon (fulfillment-channel ``AMAZON_JP``), not by the shop."""


@dataclass
class FeedOutcome:
    """What became of one JSON_LISTINGS_FEED."""

    feed_id: str
    status: str
    """``DONE``, ``FATAL`` or ``CANCELLED``."""
    errors: dict[int, list[str]] = field(default_factory=dict)
    """messageId → its ERROR issues from the processing report."""
    feed_errors: list[str] = field(default_factory=list)
    """Issues not tied to a message (a FATAL feed's reason)."""


# Column names of GET_MERCHANT_LISTINGS_ALL_DATA. English per
# https://developer-docs.amazon.com/sp-api/docs/report-type-values-inventory ; JP reports
# have been seen with localised headers (amzn/selling-partner-api-models#2293), whose exact
# wording is UNCONFIRMED, so both spellings of the katakana are accepted.
_SKU_COLUMNS = ("seller-sku", "出品者SKU", "出品者sku")
_QTY_COLUMNS = ("quantity", "数量", "在庫数")
_CHANNEL_COLUMNS = (
    "fulfillment-channel",
    "フルフィルメント・チャネル",
    "フルフィルメント・チャンネル",
)
MERCHANT_CHANNEL = "DEFAULT"


def parse_listings_report(text: str) -> dict[str, ListingRow]:
    """SKU → row of a tab-separated merchant-listings report (header row first)."""
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header is None:
        return {}
    names = [h.strip() for h in header]

    def column(candidates: Sequence[str]) -> int | None:
        return next((names.index(c) for c in candidates if c in names), None)

    sku_at, qty_at, channel_at = (
        column(_SKU_COLUMNS),
        column(_QTY_COLUMNS),
        column(_CHANNEL_COLUMNS),
    )
    if sku_at is None:
        raise TransientError(
            "Amazon: 出品レポートに SKU の列がありません（形式が変わった可能性があります）"
        )
    rows: dict[str, ListingRow] = {}
    for cells in reader:
        if len(cells) <= sku_at or not cells[sku_at].strip():
            continue
        channel = (
            cells[channel_at].strip() if channel_at is not None and channel_at < len(cells) else ""
        )
        raw_qty = cells[qty_at].strip() if qty_at is not None and qty_at < len(cells) else ""
        sku = cells[sku_at].strip()
        afn = bool(channel) and channel.upper() != MERCHANT_CHANNEL
        quantity = int(raw_qty) if raw_qty.isdigit() and not afn else None
        rows[sku] = ListingRow(sku=sku, quantity=quantity, afn=afn)
    return rows


class Bulk:
    """Feeds API 2021-06-30 and Reports API 2021-06-30, as the adapter uses them."""

    # https://developer-docs.amazon.com/sp-api/docs/feeds-api-v2021-06-30-reference ([SPM] models)
    PATH_FEED_DOCUMENTS: ClassVar[str] = "/feeds/2021-06-30/documents"
    PATH_FEEDS: ClassVar[str] = "/feeds/2021-06-30/feeds"
    # https://developer-docs.amazon.com/sp-api/docs/reports-api-v2021-06-30-reference
    PATH_REPORTS: ClassVar[str] = "/reports/2021-06-30/reports"
    PATH_REPORT_DOCUMENTS: ClassVar[str] = "/reports/2021-06-30/documents"
    FEED_TYPE: ClassVar[str] = "JSON_LISTINGS_FEED"
    # The upload must repeat this exact Content-Type (the presigned URL signs it).
    # https://rubydoc.info/gems/peddler/Peddler/Helpers/Feeds20210630
    FEED_CONTENT_TYPE: ClassVar[str] = "application/json; charset=UTF-8"
    # The whole catalogue, inactive listings included, with fulfillment-channel.
    # https://developer-docs.amazon.com/sp-api/docs/report-type-values-inventory
    REPORT_TYPE: ClassVar[str] = "GET_MERCHANT_LISTINGS_ALL_DATA"
    # [SPM] usage plans (rate per second, burst) of each operation used here.
    RATES: ClassVar[Mapping[str, tuple[float, int]]] = {
        "createFeedDocument": (0.5, 15),
        "createFeed": (0.0083, 15),
        "getFeed": (2.0, 15),
        "getFeedDocument": (0.0222, 10),
        "createReport": (0.0167, 15),
        "getReport": (2.0, 15),
        "getReportDocument": (0.0167, 15),
    }
    # At most 5 JSON_LISTINGS_FEED submissions per 5 minutes (changed 2025-05-06).
    # https://developer-docs.amazon.com/sp-api/changelog/update-feed-size-and-rate-limit-changes-for-the-json_listings_feed
    LISTINGS_FEEDS_PER_WINDOW: ClassVar[int] = 5
    LISTINGS_FEED_WINDOW_S: ClassVar[float] = 300.0
    TERMINAL: ClassVar[frozenset[str]] = frozenset({"DONE", "FATAL", "CANCELLED"})

    def __init__(
        self,
        api: SpApi,
        *,
        seller_id: str,
        marketplace_id: str,
        poll_seconds: float = 30.0,
        max_wait_seconds: float = 1800.0,
        report_fallback_charset: str = "cp932",
    ) -> None:
        self._api = api
        self._seller_id = seller_id
        self._marketplace_id = marketplace_id
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds
        self._fallback_charset = report_fallback_charset
        clock = api.clock
        self._buckets = {op: TokenBucket(r, b, clock) for op, (r, b) in self.RATES.items()}
        self._feeds_sent: deque[float] = deque()
        """Monotonic times of the listings feeds created in the last window."""

    # ------------------------------------------------------------------ feeds

    def feed_document(self, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """A JSON_LISTINGS_FEED document (schema listings-feed-schema-v2.json)."""
        return {
            "header": {"sellerId": self._seller_id, "version": "2.0", "issueLocale": "ja_JP"},
            "messages": list(messages),
        }

    def take_feed_slot(self, *, full: bool) -> bool:
        """Whether a feed may be created now, taking its place if so (never waits).

        Two limits apply: 5 JSON_LISTINGS_FEED per 5 minutes and createFeed's own usage
        plan (one per 120 s after a burst of 15); a push that found no room queues its
        listings for a later cycle instead of waiting inside this one. A feed that is
        not ``full`` (25,000 messages) also waits a fifth of the window after the last
        one: the slots are spread over the window instead of spent in the first minute,
        so a listing waits for a slot at most about a minute while pushes keep coming.
        """
        now = self._api.clock.monotonic()
        sent = self._feeds_sent
        while sent and sent[0] <= now - self.LISTINGS_FEED_WINDOW_S:
            sent.popleft()
        # Counted as a sliding window (the stricter reading of "5 per 5 minutes").
        if len(sent) >= self.LISTINGS_FEEDS_PER_WINDOW or not self._buckets["createFeed"].ready():
            return False
        spacing = self.LISTINGS_FEED_WINDOW_S / self.LISTINGS_FEEDS_PER_WINDOW
        if not full and sent and now - sent[-1] < spacing:
            return False
        sent.append(now)
        return True

    def send_feed(self, messages: Sequence[Mapping[str, Any]]) -> str:
        """Upload and create one feed (a slot taken with :meth:`take_feed_slot`); its id."""
        body = json.dumps(self.feed_document(messages), ensure_ascii=False).encode("utf-8")
        created = self._api.json(
            self._api.call(
                "POST",
                self.PATH_FEED_DOCUMENTS,
                self._buckets["createFeedDocument"],
                json={"contentType": self.FEED_CONTENT_TYPE},
            )
        )
        document_id, url = str(created.get("feedDocumentId") or ""), created.get("url")
        if not document_id or not isinstance(url, str):
            raise TransientError("Amazon: フィード文書を作成できませんでした")
        self._api.document("PUT", url, content=body, content_type=self.FEED_CONTENT_TYPE)
        feed = self._api.json(
            self._api.call(
                "POST",
                self.PATH_FEEDS,
                self._buckets["createFeed"],
                json={
                    "feedType": self.FEED_TYPE,
                    "marketplaceIds": [self._marketplace_id],
                    "inputFeedDocumentId": document_id,
                },
            )
        )
        feed_id = str(feed.get("feedId") or "")
        if not feed_id:
            raise TransientError("Amazon: フィードを登録できませんでした")
        return feed_id

    def feed_outcome(self, feed_id: str) -> FeedOutcome | None:
        """One look at a feed (getFeed): its outcome once final, else None."""
        state = self._api.json(
            self._api.call("GET", f"{self.PATH_FEEDS}/{feed_id}", self._buckets["getFeed"])
        )
        status = str(state.get("processingStatus") or "")
        if status not in self.TERMINAL:
            return None
        outcome = FeedOutcome(feed_id=feed_id, status=status)
        result_id = state.get("resultFeedDocumentId")
        if status in ("DONE", "FATAL") and isinstance(result_id, str) and result_id:
            report = self._download_json(
                f"{self.PATH_FEED_DOCUMENTS}/{result_id}", self._buckets["getFeedDocument"]
            )
            _read_processing_report(report, outcome)
        return outcome

    # ------------------------------------------------------------------ reports

    def listings(self, report_id: str | None = None) -> dict[str, ListingRow]:
        """The whole catalogue from one GET_MERCHANT_LISTINGS_ALL_DATA report, waited for.

        ``report_id``: a report asked for earlier (:meth:`ask_listings`) instead of a new one.
        """
        report_id = report_id or self.ask_listings()
        return self.listings_of(
            self._poll(f"{self.PATH_REPORTS}/{report_id}", self._buckets["getReport"])
        )

    def ask_listings(self) -> str:
        """Ask Amazon for a listings report (createReport); its report id."""
        created = self._api.json(
            self._api.call(
                "POST",
                self.PATH_REPORTS,
                self._buckets["createReport"],
                json={"reportType": self.REPORT_TYPE, "marketplaceIds": [self._marketplace_id]},
            )
        )
        report_id = str(created.get("reportId") or "")
        if not report_id:
            raise TransientError("Amazon: 出品レポートを依頼できませんでした")
        return report_id

    def report_state(self, report_id: str) -> dict[str, Any]:
        """One look at a report (getReport): its processingStatus and document id."""
        return self._api.json(
            self._api.call("GET", f"{self.PATH_REPORTS}/{report_id}", self._buckets["getReport"])
        )

    def is_final(self, state: Mapping[str, Any]) -> bool:
        """The report will not change any more (DONE, FATAL or CANCELLED)."""
        return state.get("processingStatus") in self.TERMINAL

    def listings_of(self, state: Mapping[str, Any]) -> dict[str, ListingRow]:
        """The rows of a report whose state is final (downloaded and parsed)."""
        status = state.get("processingStatus")
        if status == "CANCELLED":
            return {}  # "no data to return" for this report type ([SPM] Report.processingStatus)
        document_id = state.get("reportDocumentId")
        if status != "DONE" or not isinstance(document_id, str) or not document_id:
            raise TransientError(
                f"Amazon: 出品レポートを取得できませんでした（{status or '待機中'}）"
            )
        meta = self._api.json(
            self._api.call(
                "GET",
                f"{self.PATH_REPORT_DOCUMENTS}/{document_id}",
                self._buckets["getReportDocument"],
            )
        )
        url = meta.get("url")
        if not isinstance(url, str):
            raise TransientError("Amazon: 出品レポートの URL がありません")
        download = self._api.document("GET", url)
        text = document_text(download, meta.get("compressionAlgorithm"), self._fallback_charset)
        return parse_listings_report(text)

    # ------------------------------------------------------------------ shared

    def _poll(self, path: str, bucket: TokenBucket) -> dict[str, Any]:
        """GET ``path`` until its processingStatus is final or the wait budget is spent."""
        waited = 0.0
        while True:
            state = self._api.json(self._api.call("GET", path, bucket))
            if state.get("processingStatus") in self.TERMINAL or waited >= self.max_wait_seconds:
                return state
            if not self._api.clock.sleep(self.poll_seconds, self._api.stop):
                raise Stopped("停止要求のため Amazon の処理待ちを中断しました")
            waited += self.poll_seconds

    def _download_json(self, path: str, bucket: TokenBucket) -> Any:
        meta = self._api.json(self._api.call("GET", path, bucket))
        url = meta.get("url")
        if not isinstance(url, str):
            raise TransientError("Amazon: 処理結果の URL がありません")
        text = document_text(
            self._api.document("GET", url), meta.get("compressionAlgorithm"), "utf-8"
        )
        try:
            return json.loads(text)
        except ValueError:
            raise TransientError("Amazon: 処理結果を読み取れませんでした") from None


def _read_processing_report(report: Any, outcome: FeedOutcome) -> None:
    """ERROR issues of a processing report (listings-feed-processing-report-schema-v2)."""
    if not isinstance(report, dict):
        return
    for issue in report.get("issues") or []:
        if not isinstance(issue, dict) or issue.get("severity") != "ERROR":
            continue
        text = " ".join(str(issue.get(k) or "") for k in ("code", "message")).strip()
        message_id = issue.get("messageId")
        if isinstance(message_id, int):
            outcome.errors.setdefault(message_id, []).append(text)
        else:
            outcome.feed_errors.append(text)
