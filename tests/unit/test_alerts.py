"""Alert wording, Block Kit building, and Slack delivery against a local fake Slack."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.models.blocks import Block, HeaderBlock

from bot.core.domain import Alert, AlertKind, Product
from bot.infra.alerts import (
    LABELS,
    MAX_BLOCKS,
    SECTION_LIMIT,
    AlertSink,
    ConsoleAlerts,
    SheetLinks,
    SlackAlerts,
    build_blocks,
    escape_mrkdwn,
    format_console,
)
from bot.infra.alerts.links import SHEET_URL
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from tests.fake_slack import FakeSlack

TOKEN = "xoxb-1234-5678-SECRETsecretSECRET"
CHANNEL = "#zaiko"

EXPECTED_LABELS = {
    AlertKind.LOW_STOCK: "在庫下限",
    AlertKind.OUT_OF_STOCK: "在庫切れ",
    AlertKind.OVERSELL: "売り越し",
    AlertKind.BACKORDER: "取り寄せ",
    AlertKind.UNASSIGNED: "未割当の注文",
    AlertKind.ROW_PROBLEM: "シートの入力エラー",
    AlertKind.MALL_DOWN: "モール接続エラー",
    AlertKind.MALL_RECOVERED: "モール接続回復",
    AlertKind.SHEET_RECOVERED: "シート接続回復",
    AlertKind.AUTH_FAILED: "認証エラー",
    AlertKind.CREDENTIAL_EXPIRING: "認証キーの期限切れ間近",
    AlertKind.SHEET_ERROR: "シートエラー",
    AlertKind.DRIFT: "モール側の在庫変更",
    AlertKind.PUSH_REJECTED: "在庫反映エラー",
    AlertKind.RESOLVED: "解消",
    AlertKind.SUMMARY: "日次サマリー",
}


def alert(kind: AlertKind, key: str, title: str = "", text: str = "", **kw: object) -> Alert:
    return Alert(kind=kind, key=key, title=title or f"{key} のお知らせ", text=text, **kw)


def low(sku: str, n: int = 2) -> Alert:
    return alert(
        AlertKind.LOW_STOCK, f"low:{sku}", f"{sku} の在庫が残り{n}個です", f"在庫下限 {n + 1}"
    )


def sections(blocks: list[dict[str, object]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]  # type: ignore[index]


class RecordingClock:
    """Real monotonic time, but sleeps are recorded and shortened to keep tests fast."""

    def __init__(self, cap: float = 0.01) -> None:
        self.sleeps: list[float] = []
        self.cap = cap

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        self.sleeps.append(seconds)
        event = stop if stop is not None else threading.Event()
        return not event.wait(min(seconds, self.cap))


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN) as fake:
        yield fake


def make_sink(fake: FakeSlack, token: str = TOKEN, **kw: object) -> tuple[SlackAlerts, io.StringIO]:
    """A sink with no SDK-internal sleeps and tiny backoffs (our own loop retries)."""
    console = io.StringIO()
    client = WebClient(token=token, base_url=fake.base_url, timeout=2, retry_handlers=[])
    options: dict[str, object] = {
        "fallback": ConsoleAlerts(console),
        "min_interval": 0.0,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
    }
    options.update(kw)
    return SlackAlerts(client, CHANNEL, **options), console  # type: ignore[arg-type]


# --------------------------------------------------------------------------- wording


@pytest.mark.parametrize("kind", list(AlertKind))
def test_every_kind_has_its_japanese_label(kind: AlertKind) -> None:
    assert LABELS[kind] == EXPECTED_LABELS[kind]
    _, blocks = build_blocks([alert(kind, "k")])
    assert EXPECTED_LABELS[kind] in blocks[0]["text"]["text"]
    # The body says what to do, for every kind (its own text, else the kind's answer).
    assert "対応: " in sections(blocks)[0]


def test_a_batch_becomes_one_message_grouped_by_kind() -> None:
    batch = [
        low("A-1"),
        low("A-2"),
        low("A-3"),
        alert(AlertKind.OUT_OF_STOCK, "out:B", "B-9 が在庫切れ"),
    ]
    text, blocks = build_blocks(batch)

    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["type"] == "plain_text"
    assert "在庫切れ 1件" in blocks[0]["text"]["text"]
    assert "在庫下限 3件" in blocks[0]["text"]["text"]
    secs = sections(blocks)
    assert len(secs) == 2  # one per kind
    assert secs[0].startswith(":no_entry: *在庫切れ*")  # stock-outs before low stock
    assert "*在庫下限*（3件）" in secs[1]
    assert secs[1].count("\n• ") == 3
    assert "A-2 の在庫が残り2個です — 在庫下限 3" in secs[1]
    # The fallback text is always there and names every alert.
    assert text and all(f"{sku} の在庫" in text for sku in ("A-1", "A-2", "A-3"))


def test_single_alert_header_says_what_happened() -> None:
    text, blocks = build_blocks([low("Z-1")])
    assert blocks[0]["text"]["text"] == "在庫下限: Z-1 の在庫が残り2個です"
    assert text.startswith("在庫下限: Z-1")


def test_urgent_alerts_come_first_with_a_siren() -> None:
    batch = [
        low("A-1"),
        alert(AlertKind.MALL_RECOVERED, "mall:rakuten", "楽天に再接続しました"),
        alert(AlertKind.AUTH_FAILED, "auth:yahoo", "Yahoo の認証に失敗しました"),
        alert(AlertKind.OVERSELL, "over:C-1", "C-1 が -1 個（売り越し）"),
        alert(AlertKind.DRIFT, "drift:x", "楽天で手動変更", urgent=True),
    ]
    text, blocks = build_blocks(batch)
    secs = sections(blocks)
    assert [s.split("*")[1] for s in secs] == [
        "売り越し",
        "認証エラー",
        "モール側の在庫変更",
        "在庫下限",
        "モール接続回復",
    ]
    assert all(s.startswith(":rotating_light:") for s in secs[:3])
    assert not any(s.startswith(":rotating_light:") for s in secs[3:])
    assert blocks[0]["text"]["text"].startswith(":rotating_light:")
    assert text.startswith(":rotating_light:")


def test_interpolated_text_is_escaped_everywhere() -> None:
    evil = alert(
        AlertKind.ROW_PROBLEM,
        "row:1",
        "商品名 <!channel> & <https://evil.example.com|ここをクリック>",
        "メモ: <@U123> 在庫 > 0",
    )
    text, blocks = build_blocks([evil, low("A-1")])
    payload = json.dumps({"text": text, "blocks": sections(blocks)}, ensure_ascii=False)
    assert "<!channel>" not in payload
    assert "<https://" not in payload
    assert "<@U123>" not in payload
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example.com|ここをクリック&gt;" in payload
    assert escape_mrkdwn("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_long_lists_are_truncated_with_a_count() -> None:
    batch = [low(f"SKU-{i:04d}" + "あ" * 100) for i in range(200)]
    text, blocks = build_blocks(batch)
    (sec,) = sections(blocks)
    assert len(sec) <= SECTION_LIMIT
    listed = sec.count("\n• ")
    assert 0 < listed < 200
    assert sec.endswith(f"…ほか{200 - listed}件")
    assert len(text) <= 3000 and "…ほか" in text


def test_one_huge_alert_is_clipped_without_breaking_an_entity() -> None:
    _, blocks = build_blocks([alert(AlertKind.SUMMARY, "s", "日次サマリー", "<&>" * 5000)])
    (sec,) = sections(blocks)
    assert len(sec) <= SECTION_LIMIT
    assert sec.endswith("…")
    body = sec.split("対応: ", 1)[1].removesuffix("…")
    assert body.replace("&lt;&amp;&gt;", "") in ("", "&lt;", "&lt;&amp;")


def test_blocks_stay_within_slack_limits_for_every_kind_at_once() -> None:
    batch = [
        alert(k, f"{k}:{u}", "x" * 400, "y" * 4000, urgent=u)
        for k in AlertKind
        for u in (False, True)
    ]
    text, blocks = build_blocks(batch)
    assert len(blocks) <= MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= 150
    assert all(len(s) <= SECTION_LIMIT for s in sections(blocks))
    assert text


def test_exact_duplicate_keys_within_a_batch_are_dropped_only_there() -> None:
    text, blocks = build_blocks([low("A-1"), low("A-1"), low("A-2")])
    assert "在庫下限 2件" in blocks[0]["text"]["text"]
    assert text.count("A-1 の在庫") == 1
    with pytest.raises(ValueError):
        build_blocks([])


# --------------------------------------------------------------------------- simple sinks


def test_console_prints_japanese_lines_urgent_first() -> None:
    out = io.StringIO()
    sink: AlertSink = ConsoleAlerts(out)
    sink.send(
        [
            low("A-1"),
            alert(AlertKind.OVERSELL, "o", "C-1 が -1 個", "楽天とYahooで同時に販売\n要確認"),
        ]
    )
    lines = out.getvalue().splitlines()
    assert lines == [
        "【至急】【売り越し】C-1 が -1 個",
        "    楽天とYahooで同時に販売",
        "    要確認",
        "【在庫下限】A-1 の在庫が残り2個です",
        "    在庫下限 3",
    ]
    assert sink.flush(0) is True
    sink.close()


def test_console_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleAlerts().send([low("A-1")])
    assert "【在庫下限】A-1" in capsys.readouterr().out
    assert format_console([]) == ""


def test_memory_records_batches() -> None:
    sink = MemoryAlerts()
    sink.send([low("A-1"), low("A-2")])
    sink.send([])
    sink.send([low("A-1")])
    assert [len(b) for b in sink.batches] == [2, 1]
    assert [a.key for a in sink.alerts] == ["low:A-1", "low:A-2", "low:A-1"]
    sink.clear()
    assert sink.alerts == []


# --------------------------------------------------------------------------- Slack delivery


def test_each_send_is_one_slack_message(slack: FakeSlack) -> None:
    sink, console = make_sink(slack)
    try:
        sink.send([low("A-1"), alert(AlertKind.OVERSELL, "o", "C-1 が -1 個")])
        sink.send([low("A-1")])  # the same key in a later batch is a new message
        assert sink.flush(2)
    finally:
        sink.close()
    assert len(slack.messages) == 2
    first = slack.messages[0]
    assert first["channel"] == CHANNEL
    assert first["text"].startswith(":rotating_light:")
    assert first["blocks"][0]["type"] == "header"
    assert "*売り越し*" in first["blocks"][1]["text"]["text"]
    assert first["unfurl_links"] is False
    assert console.getvalue() == ""


def test_rate_limited_message_is_delivered_after_retry_after(slack: FakeSlack) -> None:
    clock = RecordingClock()
    sink, _ = make_sink(slack, clock=clock)
    slack.fail_next(status=429, retry_after=3)
    try:
        sink.send([low("A-1")])
        assert sink.flush(2)
    finally:
        sink.close()
    assert slack.attempts == 2
    assert len(slack.messages) == 1
    assert 3.0 in clock.sleeps  # Slack's Retry-After was honoured (shortened in the fake clock)


def test_server_errors_are_retried_with_bounded_backoff(slack: FakeSlack) -> None:
    clock = RecordingClock()
    sink, _ = make_sink(slack, clock=clock, backoff_base=1.0, backoff_max=4.0)
    slack.fail_next(status=503, times=4)
    try:
        sink.send([low("A-1")])
        assert sink.flush(2)
    finally:
        sink.close()
    assert len(slack.messages) == 1
    assert clock.sleeps == [1.0, 2.0, 4.0, 4.0]


def test_posts_are_spaced_per_channel(slack: FakeSlack) -> None:
    class Virtual(VirtualClock):
        """Virtual time: the spacing waits are exact, whatever the machine's load."""

        def __init__(self) -> None:
            super().__init__()
            self.sleeps: list[float] = []

        def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
            self.sleeps.append(seconds)
            return super().sleep(seconds, stop)

    clock = Virtual()
    sink, _ = make_sink(slack, min_interval=1.0, clock=clock)
    try:
        for i in range(3):
            sink.send([low(f"A-{i}")])
        assert slack.wait_for(3, timeout=5)
    finally:
        sink.close()
    assert len(slack.messages) == 3
    assert clock.sleeps.count(1.0) >= 2  # one full interval before each later post


@pytest.mark.parametrize("mode", ["refuse", "503"])
def test_slack_down_never_blocks_and_delivers_in_order_later(
    slack: FakeSlack, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.infra.alerts")
    sink, console = make_sink(slack)
    slack.go_down(mode)  # type: ignore[arg-type]
    try:
        for i in range(5):
            started = time.perf_counter()
            sink.send([low(f"A-{i}")])
            # A sink that waited for Slack would not return at all here (Slack stays
            # down); the bound is generous so a loaded CI machine cannot trip it.
            assert time.perf_counter() - started < 0.5
        assert not sink.flush(0.1)  # still queued, not dropped
        assert sink.pending == 5
        slack.come_up()
        assert sink.flush(2)
    finally:
        sink.close()
    assert [m["text"].split(":")[1].split()[0] for m in slack.messages] == [
        f"A-{i}" for i in range(5)
    ]
    assert console.getvalue() == ""
    ours = [r.getMessage() for r in caplog.records if r.name == "bot.infra.alerts"]
    assert sum("Slack unavailable" in m for m in ours) == 1  # said once, not per retry
    assert sum("Slack reachable again" in m for m in ours) == 1


@pytest.mark.parametrize("error", ["invalid_auth", "channel_not_found", "not_in_channel"])
def test_fatal_slack_errors_fall_back_to_the_console(
    slack: FakeSlack, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    if error == "invalid_auth":
        sink, console = make_sink(slack, token="xoxb-wrong-token-value")
    else:
        sink, console = make_sink(slack)
        slack.fail_next(status=200, error=error)
    try:
        sink.send([alert(AlertKind.OVERSELL, "o", "C-1 が -1 個")])
        assert sink.flush(2)
        started = time.perf_counter()
        sink.send([low("A-1")])  # later batches go straight to the console
        assert time.perf_counter() - started < 0.5
    finally:
        sink.close()
    assert slack.messages == []
    out = console.getvalue()
    assert "【至急】【売り越し】C-1 が -1 個" in out
    assert "【在庫下限】A-1" in out
    errors = [
        r for r in caplog.records if r.name == "bot.infra.alerts" and r.levelno >= logging.ERROR
    ]
    assert len(errors) == 1 and error in errors[0].getMessage()


def test_rejected_blocks_are_resent_as_plain_text(slack: FakeSlack) -> None:
    sink, console = make_sink(slack)
    slack.fail_next(status=200, error="invalid_blocks")
    try:
        sink.send([low("A-1")])
        assert sink.flush(2)
    finally:
        sink.close()
    assert len(slack.messages) == 1
    assert "blocks" not in slack.messages[0]
    assert "A-1" in slack.messages[0]["text"]
    assert console.getvalue() == ""


def test_full_queue_folds_the_oldest_into_a_summary(slack: FakeSlack) -> None:
    sink, console = make_sink(slack, max_queue=3)
    slack.go_down("503")
    try:
        for i in range(6):
            sink.send([low(f"A-{i}")])
        assert sink.pending <= 3
        slack.come_up()
        assert sink.flush(2)
    finally:
        sink.close()
    texts = slack.texts()
    assert len(texts) <= 4  # never more than the queue cap (+1 in flight) was kept
    summaries = [t for t in texts if "未送信のアラートが" in t]
    assert summaries
    # 6 alerts sent; those not delivered individually are counted in a summary. (When
    # the delivery thread holds one summary in flight, a second fold makes another.)
    individually = len(texts) - len(summaries)
    folded = sum(int(t.split("未送信のアラートが")[1].split("件")[0]) for t in summaries)
    assert folded + individually == 6
    assert "A-5" in texts[-1]  # the newest is delivered as itself, last
    # Details of the folded alerts reached a person via the console.
    assert "【在庫下限】A-1" in console.getvalue()


def test_token_never_appears_in_logs(slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sink, _ = make_sink(slack)
    slack.fail_next(status=429, retry_after=0)
    slack.go_down("503")
    try:
        sink.send([low("A-1")])
        assert not sink.flush(0.1)
        slack.come_up()
        assert sink.flush(2)
    finally:
        sink.close()
    bad, _ = make_sink(slack, token=TOKEN + "x")  # invalid_auth path
    try:
        bad.send([low("A-2")])
        assert bad.flush(2)
    finally:
        bad.close()
    assert caplog.records  # the SDK and we did log
    assert "SECRET" not in caplog.text
    for record in caplog.records:
        assert "SECRET" not in record.getMessage()


def test_close_joins_the_thread_and_prints_what_is_left(slack: FakeSlack) -> None:
    sink, console = make_sink(slack, backoff_base=30.0, backoff_max=30.0)
    slack.go_down("refuse")
    sink.send([low("A-1")])
    thread = sink.thread
    assert thread is not None and thread.is_alive()
    started = time.perf_counter()
    sink.close(timeout=0.2)  # the 30 s backoff is cut short by the stop event
    assert time.perf_counter() - started < 1.0
    assert not thread.is_alive()
    assert "【在庫下限】A-1" in console.getvalue()  # undelivered, not lost
    sink.close()  # idempotent
    sink.send([low("A-2")])  # after close: straight to the console
    assert "A-2" in console.getvalue()


def test_close_without_any_send_starts_no_thread(slack: FakeSlack) -> None:
    sink, _ = make_sink(slack)
    sink.close()
    assert sink.thread is None


def test_from_token_installs_bounded_sdk_retries_and_delivers(slack: FakeSlack) -> None:
    sink = SlackAlerts.from_token(TOKEN, CHANNEL, base_url=slack.base_url, timeout=2)
    handlers = sink._client.retry_handlers
    assert {type(h) for h in handlers} == {ConnectionErrorRetryHandler, RateLimitErrorRetryHandler}
    assert all(h.max_retry_count == 1 for h in handlers)
    assert sink._client.timeout == 2
    try:
        sink.send([low("A-1")])
        assert sink.flush(2)
    finally:
        sink.close()
    assert len(slack.messages) == 1


def test_fake_slack_rejects_what_slack_would(slack: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])
    from slack_sdk.errors import SlackApiError

    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel=CHANNEL, text="x", blocks=[{"type": "divider"}] * 51)
    assert err.value.response["error"] == "invalid_blocks"
    assert slack.messages == []


# --------------------------------------------------------------------------- product, links, models


def _links(products: dict[str, Product] | None = None) -> SheetLinks:
    found = products or {}
    return SheetLinks(
        "SHEET-ID", tab_ids=lambda: {"products": 11, "listings": 22}, products=lambda: found
    )


def _text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_blocks_are_slack_sdk_models_within_their_limits() -> None:
    """Every block parses back as slack-sdk's model and passes its own limit checks."""
    batch = [alert(k, f"{k}", "x" * 400, "y" * 4000, sku="S", row=3) for k in AlertKind]
    for alerts in ([batch[0]], batch):
        _, blocks = build_blocks(alerts, _links())
        for raw in blocks:
            model = Block.parse(raw)
            assert model is not None
            model.validate_json()  # raises SlackObjectFormationError past a limit
        assert len(blocks[0]["text"]["text"]) <= HeaderBlock.text_max_length


def test_one_alert_names_the_product_links_its_row_and_says_what_to_do() -> None:
    one = alert(
        AlertKind.ROW_PROBLEM,
        "row:products:A:x",
        "商品マスタ C7: 在庫数『abc』は数字ではありません",
        "セルを直してください。",
        sku="A-1",
        name="Tシャツ <赤>",
        row=7,
    )
    text, blocks = build_blocks([one], _links())
    header = blocks[0]["text"]["text"]
    body = _text(blocks[1:])
    assert header == "シートの入力エラー: 商品マスタ C7: 在庫数『abc』は数字ではありません"
    assert "C7" not in body and "数字ではありません" not in body  # not said twice
    assert "対応: セルを直してください。" in body
    assert "商品: A-1（Tシャツ &lt;赤&gt;）" in body
    sheet = SHEET_URL.format(sheet_id="SHEET-ID")  # a link in the text, never fetched
    assert f"{sheet}#gid=11&range=A7" in body
    assert f"<{sheet}|スプレッドシートを開く>" in body
    assert text.startswith("シートの入力エラー: 商品マスタ C7")


def test_every_line_of_a_list_names_its_product_and_links_its_row() -> None:
    batch = [
        alert(
            AlertKind.PUSH_REJECTED,
            f"push:{i}",
            f"楽天 の『c{i}』に在庫 1 を反映できませんでした",
            "コードを確認してください。",
            sku=f"S{i}",
            name=f"商品{i}",
            row=i + 2,
        )
        for i in range(3)
    ]
    _, blocks = build_blocks(batch, _links())
    (section,) = sections(blocks)
    lines = section.split("\n")[1:]
    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert f"商品: S{i}（商品{i}）" in line and "コードを確認してください。" in line
        assert f"#gid=11&range=A{i + 2}|シートの該当行を開く>" in line


def test_the_sheet_as_last_read_completes_an_alert_about_a_mall_code() -> None:
    mug = Product(sku="MUG", name="マグカップ", row=9, codes={"rakuten": ("mug:blue",)})
    links = _links({"MUG": mug})
    drift = alert(
        AlertKind.DRIFT,
        "drift:rakuten:mug:blue",
        "楽天 の『mug:blue』…",
        mall="rakuten",
        code="mug:blue",
    )
    done = links.complete(drift)
    assert (done.sku, done.name, done.tab, done.row) == ("MUG", "マグカップ", "products", 9)
    assert links.alert_url(done).endswith("#gid=11&range=A9")
    # Nothing known: the tab that tells more, else the spreadsheet.
    assert links.alert_url(drift).endswith("#gid=22")
    assert links.alert_url(alert(AlertKind.SUMMARY, "s")) == SHEET_URL.format(sheet_id="SHEET-ID")


def test_slack_sink_links_into_the_sheet(slack: FakeSlack) -> None:
    mug = Product(sku="MUG", name="マグカップ", row=4, codes={"rakuten": ("mug:blue",)})
    sink = SlackAlerts(
        WebClient(token=slack.token, base_url=slack.base_url, retry_handlers=[]),
        CHANNEL,
        min_interval=0.0,
        links=_links({"MUG": mug}),
    )
    try:
        sink.send(
            [
                alert(
                    AlertKind.DRIFT,
                    "drift:x",
                    "楽天で手動変更",
                    "戻しました。",
                    mall="rakuten",
                    code="mug:blue",
                )
            ]
        )
        assert sink.flush(2.0)
    finally:
        sink.close()
    (message,) = slack.messages
    body = _text(message["blocks"])
    assert "商品: MUG（マグカップ）" in body and "#gid=11&range=A4" in body
    assert message["text"].startswith("モール側の在庫変更: 楽天で手動変更")
