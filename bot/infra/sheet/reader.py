"""Cell parsers that know the template's words and messages.

A cell the bot cannot understand raises :class:`Bad` carrying the finished Japanese
message (naming the cell in A1 notation); the caller turns it into a row problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.core.domain import DisplayRule
from bot.infra.sheet.cells import DASHES, cell_text, header_key, is_blank, is_formula
from bot.infra.sheet.spec import Template


class Bad(Exception):
    """A cell the bot cannot understand; ``args[0]`` is the finished message."""

    @property
    def message(self) -> str:
        """The Japanese message for 状態 / エラーログ."""
        return str(self.args[0])


class Guess(Bad):
    """A cell read one way of several it could mean; ``value`` is what the bot uses.

    The message says which reading was taken, so staff can confirm or retype it; the
    row keeps syncing (unlike :class:`Bad`).
    """

    def __init__(self, message: str, value: Any) -> None:
        super().__init__(message)
        self.value = value


class Reader:
    """Cell parsers that know the template's words and messages."""

    def __init__(self, tpl: Template) -> None:
        self.tpl = tpl
        self.true_words = {header_key(w) for w in tpl.words.true}
        self.false_words = {header_key(w) for w in tpl.words.false}
        seps = "".join(re.escape(s) for s in tpl.words.code_separators)
        self.code_split = re.compile(f"[{seps}]")

    def msg(self, key: str, **values: object) -> str:
        return self.tpl.message(key, **values)

    def int_cell(self, raw: Any, cell: str, header: str) -> int | None:
        """An integer cell; None when blank. Raises Bad for text, decimals, formulas."""
        if is_blank(raw):
            return None
        if isinstance(raw, bool):
            raise Bad(self.msg("not_a_number", cell=cell, header=header, value=cell_text(raw)))
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float):
            if raw.is_integer():
                return int(raw)
            raise Bad(self.msg("not_integer", cell=cell, header=header, value=cell_text(raw)))
        text = cell_text(raw).translate(DASHES)
        if text.startswith("="):
            raise Bad(self.msg("formula_number", cell=cell, header=header))
        digits = text.replace(" ", "")
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", digits):
            digits = digits.replace(",", "")
        if re.fullmatch(r"[+-]?\d+", digits):
            return int(digits)
        if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", digits):
            number = float(digits)
            if number.is_integer():
                return int(number)
            raise Bad(self.msg("not_integer", cell=cell, header=header, value=text))
        raise Bad(self.msg("not_a_number", cell=cell, header=header, value=text))

    def non_negative(self, raw: Any, cell: str, header: str) -> int | None:
        value = self.int_cell(raw, cell, header)
        if value is not None and value < 0:
            raise Bad(self.msg("negative", cell=cell, header=header, value=value))
        return value

    def bool_word(self, raw: Any) -> bool | None:
        """True/False for a checkbox or ON/OFF word, None for blank; raises ValueError."""
        if is_blank(raw):
            return None
        if isinstance(raw, bool):
            return raw
        word = header_key(cell_text(raw))
        if word in self.true_words:
            return True
        if word in self.false_words:
            return False
        raise ValueError(word)

    def bool_cell(self, raw: Any, cell: str, header: str) -> bool | None:
        try:
            return self.bool_word(raw)
        except ValueError:
            raise Bad(
                self.msg("bad_checkbox", cell=cell, header=header, value=cell_text(raw))
            ) from None

    def rule_cell(self, raw: Any, cell: str, header: str) -> DisplayRule | None:
        """表示在庫設定 as the guide shows it: blank, ``+N``, ``-N`` or ``N``.

        The column is TEXT-formatted so ``+20`` arrives as typed. A number still
        arrives where the cell lost that format: Google stores ``+20`` and ``20`` alike
        as 20, and ``-0`` as 0 (google-sheets.md §3). A negative number can only come
        from ``-N``, so it is that. Any other number is read as the cap ``N``, the
        reading that shows fewer units, and :class:`Guess` tells staff so.
        """
        if is_blank(raw):
            return None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return self._rule_number(raw, cell, header)
        if is_formula(raw):
            raise Bad(self.msg("formula_text", cell=cell, header=header))
        try:
            return DisplayRule.parse(cell_text(raw).translate(DASHES))
        except ValueError as err:
            raise Bad(self.msg("bad_rule", cell=cell, reason=str(err))) from None

    def _rule_number(self, raw: float, cell: str, header: str) -> DisplayRule:
        if not float(raw).is_integer():
            try:
                DisplayRule.parse(cell_text(raw))
            except ValueError as err:
                raise Bad(self.msg("bad_rule", cell=cell, reason=str(err))) from None
        n = int(raw)
        if n < 0:
            return DisplayRule.of("minus", -n)
        rule = DisplayRule.of("cap", n)
        raise Guess(self.msg("rule_number", cell=cell, header=header, value=n), rule)

    def codes_cell(
        self, raw: Any, cell: str, header: str, canon: Callable[[str], str] | None
    ) -> tuple[str, ...]:
        if is_blank(raw):
            return ()
        if is_formula(raw):
            raise Bad(self.msg("formula_text", cell=cell, header=header))
        out: list[str] = []
        for part in self.code_split.split(cell_text(raw)):
            code = part.strip()
            if not code:
                continue
            if canon is not None:
                try:
                    code = canon(code)
                except ValueError as err:
                    raise Bad(
                        self.msg("bad_code", cell=cell, header=header, value=code, reason=str(err))
                    ) from None
            if code not in out:
                out.append(code)
        return tuple(out)

    def key_cell(self, raw: Any, cell: str, header: str) -> str:
        """A 商品コード-like cell: text, formula refused."""
        if is_formula(raw):
            raise Bad(self.msg("formula_text", cell=cell, header=header))
        return cell_text(raw)
