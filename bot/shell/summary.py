"""What the daily job says: the day's summary and credentials coming to an end (§7).

Plain functions of what the worker holds, so the worker stays a thin cycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from bot.core import words
from bot.core.domain import Alert, AlertKind
from bot.core.health import State
from bot.infra.clock import format_jst, to_jst
from bot.shell.health import MallHealth, mall_label


def summary_alert(
    now: datetime,
    day: Counter[tuple[str, str]],
    conditions: frozenset[str],
    health: Mapping[str, MallHealth],
    labels: Mapping[str, str],
) -> Alert:
    """The daily summary: orders and cancels by mall, open conditions, each mall's state."""
    date = format_jst(now)[:10]
    text = "\n".join([_orders(day), _conditions(conditions), _malls(health, labels)])
    return Alert(
        kind=AlertKind.SUMMARY,
        key=f"summary:{date}",
        title=words.say("shell.summary_title", date=date),
        text=text,
    )


def _orders(day: Counter[tuple[str, str]]) -> str:
    by_mall = Counter[str]()
    for (mall, kind), n in day.items():
        if kind == "販売":
            by_mall[mall] += n
    listed = "、".join(f"{mall_label(m)} {n}" for m, n in sorted(by_mall.items()))
    return words.say(
        "shell.summary_orders",
        sales=sum(by_mall.values()),
        by_mall=words.say("shell.summary_by_mall", malls=listed) if by_mall else "",
        cancels=sum(n for (_, kind), n in day.items() if kind == "キャンセル"),
    )


def _conditions(conditions: frozenset[str]) -> str:
    raised = Counter(c.split(":", 1)[0] for c in conditions if ":" in c)
    return words.say(
        "shell.summary_conditions",
        oversell=raised["oversell"],
        out_of_stock=raised["out_of_stock"],
        low_stock=raised["low_stock"],
        unassigned=raised["unassigned"],
    )


def _malls(health: Mapping[str, MallHealth], labels: Mapping[str, str]) -> str:
    said = {
        State.OK: words.say("shell.state_ok"),
        State.DOWN: words.say("shell.state_down"),
        State.PARKED: words.say("shell.state_parked"),
    }
    states = "、".join(f"{labels[m]} {said[h.state]}" for m, h in sorted(health.items()))
    return words.say("shell.summary_malls", malls=states)


def expiry_alert(
    mall: str, key: str, expires: datetime, now: datetime, label: str, hint: str
) -> Alert:
    """Credentials end on ``expires``: the date, the days left and what renewing takes."""
    # Calendar days in Japan, as the date next to it is shown.
    days = max((to_jst(expires).date() - to_jst(now).date()).days, 0)
    return Alert(
        kind=AlertKind.CREDENTIAL_EXPIRING,
        key=key,
        mall=mall,
        title=words.say(
            "shell.credential_expiring", label=label, date=format_jst(expires)[:10], days=days
        ),
        text=words.say("shell.credential_expiring_text", hint=hint),
    )
