"""A small GraphQL reader: enough of the language to serve what an Admin API client sends.

Operations (query/mutation) with variables, fields with aliases, arguments and
directives, nested selections and inline fragments (``... on InventoryItem { … }``, as
``nodes(ids:)`` needs); no named fragments. The simulator validates every selected
field against the object it resolves, so a query naming a field Shopify does not have
is refused as Shopify refuses it, instead of being answered by a kinder double.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class GraphQLSyntaxError(ValueError):
    """The document is not (this subset of) GraphQL."""


@dataclass(frozen=True)
class Var:
    """A ``$name`` reference inside an argument value."""

    name: str


@dataclass(frozen=True)
class Enum:
    """An enum literal (``UPDATED_AT``)."""

    name: str


@dataclass
class Field:
    """One selected field."""

    name: str
    alias: str
    args: dict[str, Any] = field(default_factory=dict)
    directives: dict[str, dict[str, Any]] = field(default_factory=dict)
    selections: list[Field] = field(default_factory=list)
    on: str = ""
    """The type condition of an inline fragment (``... on InventoryItem``); '' for a field."""

    @property
    def key(self) -> str:
        """The response key (alias or name)."""
        return self.alias or self.name


@dataclass
class Operation:
    """The document's one operation."""

    kind: str
    name: str
    variables: dict[str, str]
    """Variable name → type as written (``InventorySetQuantitiesInput!``)."""
    selections: list[Field]


_TOKEN = re.compile(
    r"""
    (?P<skip>[\s,]+|\#[^\n]*)
    |(?P<spread>\.\.\.)
    |(?P<punct>[{}()\[\]:!$@=])
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<name>[_A-Za-z][_0-9A-Za-z]*)
    """,
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise GraphQLSyntaxError(f"Unexpected character {text[pos]!r} at {pos}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "skip":
            tokens.append((kind, match.group()))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("eof", "")

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        got_kind, got = self.peek()
        if (value is not None and got != value) or (kind is not None and got_kind != kind):
            raise GraphQLSyntaxError(f"Expected {value or kind}, got {got or 'end of document'}")
        self.pos += 1
        return got

    def operation(self) -> Operation:
        kind, name, variables = "query", "", {}
        if self.peek()[1] in ("query", "mutation"):
            kind = self.take()
            if self.peek()[0] == "name":
                name = self.take()
            if self.peek()[1] == "(":
                variables = self.variable_definitions()
        selections = self.selection_set()
        if self.peek()[0] != "eof":
            raise GraphQLSyntaxError("Only one operation per document is supported")
        return Operation(kind, name, variables, selections)

    def variable_definitions(self) -> dict[str, str]:
        self.take("(")
        found: dict[str, str] = {}
        while self.peek()[1] != ")":
            self.take("$")
            name = self.take(kind="name")
            self.take(":")
            found[name] = self.type_ref()
            if self.peek()[1] == "=":
                self.take("=")
                self.value()
        self.take(")")
        return found

    def type_ref(self) -> str:
        if self.peek()[1] == "[":
            self.take("[")
            inner = self.type_ref()
            self.take("]")
            text = f"[{inner}]"
        else:
            text = self.take(kind="name")
        if self.peek()[1] == "!":
            self.take("!")
            text += "!"
        return text

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields: list[Field] = []
        while self.peek()[1] != "}":
            if self.peek()[0] == "spread":
                fields.append(self.inline_fragment())
            else:
                fields.append(self.field())
        self.take("}")
        if not fields:
            raise GraphQLSyntaxError("Empty selection set")
        return fields

    def field(self) -> Field:
        name, alias = self.take(kind="name"), ""
        if self.peek()[1] == ":":
            self.take(":")
            alias, name = name, self.take(kind="name")
        found = Field(name=name, alias=alias)
        if self.peek()[1] == "(":
            found.args = self.arguments()
        while self.peek()[1] == "@":
            self.take("@")
            directive = self.take(kind="name")
            found.directives[directive] = self.arguments() if self.peek()[1] == "(" else {}
        if self.peek()[1] == "{":
            found.selections = self.selection_set()
        return found

    def inline_fragment(self) -> Field:
        """``... on Type { … }``; a named fragment spread is not supported."""
        self.take(kind="spread")
        if self.peek()[1] != "on":
            raise GraphQLSyntaxError("Named fragments are not supported by this simulator")
        self.take("on")
        on = self.take(kind="name")
        return Field(name="...", alias="", on=on, selections=self.selection_set())

    def arguments(self) -> dict[str, Any]:
        self.take("(")
        args: dict[str, Any] = {}
        while self.peek()[1] != ")":
            name = self.take(kind="name")
            self.take(":")
            args[name] = self.value()
        self.take(")")
        return args

    def value(self) -> Any:
        kind, text = self.peek()
        if text == "$":
            self.take("$")
            return Var(self.take(kind="name"))
        if kind == "string":
            self.take()
            return json.loads(text)
        if kind == "number":
            self.take()
            return float(text) if any(c in text for c in ".eE") else int(text)
        if text == "[":
            self.take("[")
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
            self.take("]")
            return items
        if text == "{":
            self.take("{")
            obj: dict[str, Any] = {}
            while self.peek()[1] != "}":
                key = self.take(kind="name")
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        if kind == "name":
            self.take()
            return {"true": True, "false": False, "null": None}.get(text, Enum(text))
        raise GraphQLSyntaxError(f"Unexpected {text or 'end of document'}")


def parse(text: str) -> Operation:
    """The one operation of ``text``; GraphQLSyntaxError when it is not readable."""
    return _Parser(text).operation()


def resolve(value: Any, variables: Mapping[str, Any]) -> Any:
    """An argument value with its variables filled in (enums as their names)."""
    if isinstance(value, Var):
        return variables.get(value.name)
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, list):
        return [resolve(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, variables) for k, v in value.items()}
    return value


def query_cost(fields: list[Field], variables: Mapping[str, Any]) -> int:
    """Requested cost by Shopify's published rules (§1.7 [S8]).

    Scalars cost 0, objects 1; a connection or list with ``first: n`` costs 2 plus n
    times one node (its ``pageInfo`` once). A mutation's root field costs 10. An
    interface costs the "maximum of possible selections": its own fields plus its
    dearest inline fragment
    (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits#cost-calculation).
    ``nodes(ids:)`` is priced as one object per id asked (UNCONFIRMED: the page gives no
    rule for a list sized by an input array; this reading is the cautious one, the
    list's worst case as a connection's ``first`` is, without the connection's 2).
    """
    fragments = [f for f in fields if f.on]
    total = max((query_cost(f.selections, variables) for f in fragments), default=0)
    for f in fields:
        if f.on or not f.selections:
            continue
        first = resolve(f.args.get("first"), variables)
        ids = resolve(f.args.get("ids"), variables)
        if isinstance(first, int):
            node = [s for s in f.selections if s.name != "pageInfo"]
            inner = [
                c for s in node for c in (s.selections if s.name in ("nodes", "edges") else [s])
            ]
            paging = 1 if any(s.name == "pageInfo" for s in f.selections) else 0
            total += 2 + paging + first * (1 + query_cost(inner, variables))
        elif isinstance(ids, list):
            total += len(ids) * (1 + query_cost(f.selections, variables))
        else:
            total += 1 + query_cost(f.selections, variables)
    return total


def actual_cost(fields: list[Field], data: object, variables: Mapping[str, Any]) -> int:
    """Cost of what a query returned, by the rules of :func:`query_cost` (§1.7 [S8]).

    Shopify reserves the requested cost and refunds what the answer did not use
    (https://shopify.dev/docs/api/usage/rate-limits): a connection costs 2 (plus its
    ``pageInfo`` once) and each node it *returned* its own cost, objects 1, scalars 0.
    An object answered as null still costs its 1, so does each id of ``nodes(ids:)``
    answered null. An inline fragment counts when the object answered its fields (the
    dearest one if several did). Never more than the requested cost.
    """
    fragments = [f for f in fields if f.on]
    total = max(
        (actual_cost(f.selections, data, variables) for f in fragments if _answered(f, data)),
        default=0,
    )
    for f in fields:
        if f.on or not f.selections:
            continue
        value = data.get(f.key) if isinstance(data, Mapping) else None
        if isinstance(resolve(f.args.get("first"), variables), int):
            paging = 1 if any(s.name == "pageInfo" for s in f.selections) else 0
            total += 2 + paging + _returned_nodes_cost(f, value, variables)
        elif isinstance(resolve(f.args.get("ids"), variables), list):
            total += sum(1 + actual_cost(f.selections, v, variables) for v in value or [])
        elif isinstance(value, list):
            # A list without ``first`` is priced as one object (query_cost): its dearest item.
            total += 1 + max((actual_cost(f.selections, v, variables) for v in value), default=0)
        else:
            total += 1 + (0 if value is None else actual_cost(f.selections, value, variables))
    return total


def _answered(fragment: Field, data: object) -> bool:
    """The object in ``data`` is of the fragment's type: it answered the fragment's fields."""
    keys = [s.key for s in fragment.selections if not s.on]
    return isinstance(data, Mapping) and bool(keys) and all(k in data for k in keys)


def _returned_nodes_cost(f: Field, value: object, variables: Mapping[str, Any]) -> int:
    """Each node a connection (or ``first:`` list) returned: 1 plus its fields' cost."""
    node = [s for s in f.selections if s.name != "pageInfo"]
    if isinstance(value, list):  # a plain list with ``first`` (``refunds(first: 5)``)
        return sum(1 + actual_cost(node, item, variables) for item in value)
    if not isinstance(value, Mapping):
        return 0
    lists = [s for s in node if s.name in ("nodes", "edges")]
    rest = [s for s in node if s.name not in ("nodes", "edges")]
    count = max((len(value.get(s.key) or []) for s in lists), default=0)
    total = 0
    for n in range(count):
        total += 1 + actual_cost(rest, value, variables)
        for s in lists:
            items = value.get(s.key) or []
            total += actual_cost(s.selections, items[n] if n < len(items) else None, variables)
    return total
