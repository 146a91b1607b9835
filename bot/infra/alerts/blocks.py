"""Slack wording: one batch of alerts as Block Kit blocks or console lines (pure).

Which conditions deserve an alert, and that each is said only once, is decided
upstream (engine and health); this module only words them for staff and groups them
into one message per batch, within Slack's limits. Slack text is Japanese (STYLE.md 13);
the sentences live in the ``alerts`` section of ``sheets_template/words.json``.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.core import words
from bot.core.domain import Alert, AlertKind
from bot.infra.alerts.links import SheetLinks

LABELS: Mapping[AlertKind, str] = {
    AlertKind.LOW_STOCK: "在庫下限",
    AlertKind.OUT_OF_STOCK: "在庫切れ",
    AlertKind.OVERSELL: "売り越し",
    AlertKind.BACKORDER: "取り寄せ",
    AlertKind.UNASSIGNED: "未割当の注文",
    AlertKind.ROW_PROBLEM: "シートの入力エラー",
    AlertKind.MALL_DOWN: "モール接続エラー",
    AlertKind.MALL_RECOVERED: "モール接続回復",
    AlertKind.AUTH_FAILED: "認証エラー",
    AlertKind.CREDENTIAL_EXPIRING: "認証キーの期限切れ間近",
    AlertKind.SHEET_ERROR: "シートエラー",
    AlertKind.SHEET_RECOVERED: "シート接続回復",
    AlertKind.DRIFT: "モール側の在庫変更",
    AlertKind.PUSH_REJECTED: "在庫反映エラー",
    AlertKind.RESOLVED: "解消",
    AlertKind.SUMMARY: "日次サマリー",
}
"""Staff-facing name of each alert kind (the Alert's title carries the specifics)."""

EMOJI: Mapping[AlertKind, str] = {
    AlertKind.LOW_STOCK: ":warning:",
    AlertKind.OUT_OF_STOCK: ":no_entry:",
    AlertKind.OVERSELL: ":x:",
    AlertKind.BACKORDER: ":package:",
    AlertKind.UNASSIGNED: ":grey_question:",
    AlertKind.ROW_PROBLEM: ":pencil2:",
    AlertKind.MALL_DOWN: ":red_circle:",
    AlertKind.MALL_RECOVERED: ":large_green_circle:",
    AlertKind.AUTH_FAILED: ":closed_lock_with_key:",
    AlertKind.CREDENTIAL_EXPIRING: ":hourglass_flowing_sand:",
    AlertKind.SHEET_ERROR: ":bookmark_tabs:",
    AlertKind.SHEET_RECOVERED: ":large_green_circle:",
    AlertKind.DRIFT: ":mag:",
    AlertKind.PUSH_REJECTED: ":leftwards_arrow_with_hook:",
    AlertKind.RESOLVED: ":white_check_mark:",
    AlertKind.SUMMARY: ":bar_chart:",
}

URGENT_KINDS: frozenset[AlertKind] = frozenset({AlertKind.OVERSELL, AlertKind.AUTH_FAILED})
"""Kinds that are always urgent: units the shop owes, or a mall that stopped syncing."""

URGENT_PREFIX = ":rotating_light:"

KIND_ORDER: tuple[AlertKind, ...] = (
    AlertKind.OVERSELL,
    AlertKind.AUTH_FAILED,
    AlertKind.OUT_OF_STOCK,
    AlertKind.MALL_DOWN,
    AlertKind.SHEET_ERROR,
    AlertKind.PUSH_REJECTED,
    AlertKind.DRIFT,
    AlertKind.LOW_STOCK,
    AlertKind.BACKORDER,
    AlertKind.UNASSIGNED,
    AlertKind.ROW_PROBLEM,
    AlertKind.CREDENTIAL_EXPIRING,
    AlertKind.RESOLVED,
    AlertKind.MALL_RECOVERED,
    AlertKind.SHEET_RECOVERED,
    AlertKind.SUMMARY,
)
"""Order of sections within one message: what needs action soonest comes first."""

# Slack limits. The blocks are slack-sdk's own models, which check each block's limits
# when serialised (HeaderBlock 150, SectionBlock 3,000 characters); a message's block
# count is not a block's, so it is ours. Sections are cut shorter than the model allows:
# msg_blocks_too_long has been seen below the documented totals (slackapi/bolt-js#2509).
MAX_BLOCKS = 50
SECTION_LIMIT = min(SectionBlock.text_max_length, 2_500)
HEADER_LIMIT = HeaderBlock.text_max_length
FALLBACK_TEXT_LIMIT = 3_000
ITEM_LIMIT = 300
"""One line per alert when a section lists several of one kind."""


def is_urgent(alert: Alert) -> bool:
    """Urgent alerts get the siren and go first: by kind, or flagged by the engine."""
    return alert.urgent or alert.kind in URGENT_KINDS


def escape_mrkdwn(text: str) -> str:
    """Escape ``&``, ``<``, ``>`` so outside text cannot become ``<!channel>`` or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip_escaped(text: str, limit: int, tail: str = "…") -> str:
    """Escape ``text`` and cut it to ``limit`` characters without splitting an entity."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(tail)
    out: list[str] = []
    used = 0
    for ch in text:
        piece = escape_mrkdwn(ch)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + tail


def _clip_plain(text: str, limit: int) -> str:
    """Cut plain text (no mrkdwn, e.g. a header) to ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def more(n: int) -> str:
    """「…ほかN件」: what a list cut short for Slack's limits says it left out."""
    return words.say("alerts.more", n=n)


def _label_count(label: str, n: int) -> str:
    return words.say("alerts.label_count", label=label, n=n)


def _one_line(text: str) -> str:
    """Collapse a multi-line detail so a list of several alerts stays compact."""
    return " / ".join(part.strip() for part in text.splitlines() if part.strip())


@dataclass(frozen=True)
class AlertGroup:
    """Alerts of one kind and urgency within one batch, in the order they were sent."""

    kind: AlertKind
    urgent: bool
    alerts: tuple[Alert, ...]

    @property
    def label(self) -> str:
        """Japanese name of the kind."""
        return LABELS[self.kind]


def group_alerts(alerts: Iterable[Alert]) -> list[AlertGroup]:
    """Drop exact duplicate keys within the batch, group by kind, urgent groups first.

    Deduplication stops here on purpose: whether a condition is new is decided upstream,
    so two batches with the same key are two messages.
    """
    seen: set[str] = set()
    buckets: dict[tuple[bool, AlertKind], list[Alert]] = {}
    for alert in alerts:
        if alert.key in seen:
            continue
        seen.add(alert.key)
        buckets.setdefault((is_urgent(alert), alert.kind), []).append(alert)
    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    keys = sorted(buckets, key=lambda k: (not k[0], order.get(k[1], len(order))))
    return [AlertGroup(kind=k[1], urgent=k[0], alerts=tuple(buckets[k])) for k in keys]


def _headline(groups: Sequence[AlertGroup]) -> str:
    """What a phone notification and the header show: the kinds and their counts."""
    total = sum(len(g.alerts) for g in groups)
    if total == 1:
        only = groups[0].alerts[0]
        text = f"{groups[0].label}: {_one_line(only.title)}"
    else:
        text = "・".join(_label_count(g.label, len(g.alerts)) for g in groups)
    if any(g.urgent for g in groups):
        text = f"{URGENT_PREFIX} {text}"
    return text


ACTIONS: Mapping[AlertKind, str] = {
    AlertKind.MALL_RECOVERED: "alerts.action_mall_recovered",
    AlertKind.SHEET_RECOVERED: "alerts.action_sheet_recovered",
    AlertKind.RESOLVED: "alerts.action_resolved",
    AlertKind.SUMMARY: "alerts.action_summary",
}
"""What to do for kinds whose alerts carry no text of their own (often: nothing)."""


def action(alert: Alert) -> str:
    """What staff should do: the alert's own text, else its kind's usual answer."""
    if alert.text.strip():
        return alert.text.strip()
    return words.say(ACTIONS.get(alert.kind, "alerts.action_default"))


def product_line(alert: Alert) -> str:
    """「商品: SKU（商品名）」 unless the title already names the product ("" for none)."""
    if not alert.sku or alert.sku in alert.title:
        return ""
    if alert.name:
        return words.say("alerts.product_named", sku=alert.sku, name=alert.name)
    return words.say("alerts.product", sku=alert.sku)


def _link(url: str, label: str) -> str:
    """A mrkdwn link; the label is escaped and cannot close the link early."""
    return f"<{url}|{escape_mrkdwn(label).replace('|', '｜')}>"


def _row_link(alert: Alert, links: SheetLinks | None) -> str:
    """A link to the alert's row (or tab), labelled with the product where known."""
    if links is None:
        return ""
    label = words.say("alerts.open_row") if alert.row > 0 else words.say("alerts.open_sheet")
    return _link(links.alert_url(alert), label)


def _single_section(group: AlertGroup) -> str:
    """The body of a message about one alert: what to do (the header said what happened)."""
    alert = group.alerts[0]
    prefix = f"{URGENT_PREFIX} " if group.urgent else ""
    first = f"{prefix}{EMOJI[group.kind]} "
    body = words.say("alerts.what_to_do", action=action(alert))
    return first + _clip_escaped(body, SECTION_LIMIT - len(first))


def _item(alert: Alert, links: SheetLinks | None) -> str:
    """One bullet of a list: what happened, the product, what to do, the row's link."""
    parts = [alert.title]
    if line := product_line(alert):
        parts.append(line)
    parts.append(_one_line(action(alert)))
    text = "• " + _clip_escaped(" — ".join(parts), ITEM_LIMIT)
    link = _row_link(alert, links)
    return f"{text} {link}" if link else text


def _list_section(group: AlertGroup, links: SheetLinks | None) -> str:
    """Slack mrkdwn for several alerts of one kind: a compact list, cut with a count."""
    prefix = f"{URGENT_PREFIX} " if group.urgent else ""
    first = f"{prefix}{EMOJI[group.kind]} *{escape_mrkdwn(group.label)}*"
    lines = [first + words.say("alerts.count", n=len(group.alerts))]
    used = len(lines[0])
    for i, alert in enumerate(group.alerts):
        line = _item(alert, links)
        rest = len(group.alerts) - i - 1
        # Keep room for the 「…ほかN件」 line unless this is the last item.
        reserve = 1 + len(more(rest)) if rest else 0
        if used + 1 + len(line) + reserve > SECTION_LIMIT:
            lines.append(more(len(group.alerts) - i))
            break
        lines.append(line)
        used += 1 + len(line)
    return "\n".join(lines)


def _fallback_text(headline: str, groups: Sequence[AlertGroup]) -> str:
    """Top-level ``text``: the notification, and what clients without blocks show."""
    alerts = [(g, a) for g in groups for a in g.alerts]
    lines = [escape_mrkdwn(headline)]
    used = len(lines[0])
    for i, (group, alert) in enumerate(alerts):
        line = "• " + _clip_escaped(f"{group.label}: {alert.title}", ITEM_LIMIT)
        rest = len(alerts) - i - 1
        reserve = 1 + len(more(rest)) if rest else 0
        if used + 1 + len(line) + reserve > FALLBACK_TEXT_LIMIT:
            lines.append(more(len(alerts) - i))
            break
        lines.append(line)
        used += 1 + len(line)
    return "\n".join(lines)


def _context(*texts: str) -> ContextBlock | None:
    """A small grey line (product, links); None when there is nothing to say."""
    shown = [MarkdownTextObject(text=t) for t in texts if t]
    return ContextBlock(elements=shown) if shown else None


def _single_blocks(group: AlertGroup, links: SheetLinks | None) -> list[Block]:
    alert = group.alerts[0]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=_single_section(group)))]
    line = product_line(alert)
    context = _context(
        escape_mrkdwn(line) if line else "",
        _row_link(alert, links),
    )
    if context is not None:
        blocks.append(context)
    return blocks


def build_blocks(
    alerts: Sequence[Alert], links: SheetLinks | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Turn one batch into (fallback text, Block Kit blocks) for ONE Slack message.

    The header says what happened (one alert: its kind and title; several: the kinds
    and counts). One alert: a section saying what to do, then the product and a link to
    its row. Several: one section per kind (urgent kinds first), each alert a line with
    its product, what to do and its row's link. Last, a link to the spreadsheet. The
    blocks are slack-sdk models, serialised (and so checked against Slack's limits)
    here. Pure, so it is tested without Slack. Raises ValueError for an empty batch.
    """
    groups = group_alerts(alerts)
    if not groups:
        raise ValueError("build_blocks needs at least one alert")
    headline = _headline(groups)
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_clip_plain(headline, HEADER_LIMIT), emoji=True))
    ]
    footer = _context(_link(links.sheet_url, words.say("alerts.open_sheet"))) if links else None
    if len(groups) == 1 and len(groups[0].alerts) == 1:
        blocks.extend(_single_blocks(groups[0], links))
    else:
        room = MAX_BLOCKS - len(blocks) - (footer is not None)
        shown = groups if len(groups) <= room else groups[: room - 1]
        for group in shown:
            text = _list_section(group, links)
            blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
        if len(shown) < len(groups):
            rest = sum(len(g.alerts) for g in groups[len(shown) :])
            blocks.append(SectionBlock(text=MarkdownTextObject(text=more(rest))))
    if footer is not None:
        blocks.append(footer)
    return _fallback_text(headline, groups), [b.to_dict() for b in blocks]


def queue_summary_blocks(
    counts: collections.Counter[str], urgent: bool
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of the message standing for queued messages folded together."""
    title = words.say("alerts.queue_summary", n=sum(counts.values()))
    detail = "、".join(_label_count(label, n) for label, n in counts.most_common())
    body = words.say("alerts.queue_body", detail=escape_mrkdwn(detail))
    head = f"{URGENT_PREFIX} {title}" if urgent else f":warning: {title}"
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_clip_plain(head, HEADER_LIMIT), emoji=True)),
        SectionBlock(text=MarkdownTextObject(text=_clip_plain(body, SECTION_LIMIT))),
    ]
    text = f"{title}\n{escape_mrkdwn(detail)}"[:FALLBACK_TEXT_LIMIT]
    return text, [b.to_dict() for b in blocks]


def format_console(alerts: Sequence[Alert]) -> str:
    """Plain Japanese lines for a terminal or a log drain (no Slack markup)."""
    lines: list[str] = []
    for group in group_alerts(alerts):
        mark = words.say("alerts.urgent_mark") if group.urgent else ""
        for alert in group.alerts:
            lines.append(
                words.say("alerts.console_line", mark=mark, label=group.label, title=alert.title)
            )
            lines.extend(f"    {part}" for part in alert.text.splitlines() if part.strip())
    return "\n".join(lines) + ("\n" if lines else "")
