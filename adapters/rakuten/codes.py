"""楽天 codes as staff type them: ``商品管理番号:SKU管理番号``, checked and folded.

The check runs when the sheet is read (the channel declares it as ``code_problem``), so
a code 楽天 could never hold is a row problem at once, not a push failure later. Cells
reach it after NFKC (full-width ``：`` is already ``:``, a full-width space is a space).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# 商品管理番号 / SKU管理番号: a-z A-Z 0-9 - _, up to 32 bytes (ASCII, so 32 characters).
# [S1] https://webservice.rms.rakuten.co.jp/merchant-portal/view/ja/common/1-1_service_index/inventoryapi2_1/inventories_variants_upsert/
# [S5] InventoryAPI 2.0 transcription: manageNumber 「大文字は小文字に自動変換」, variantId
# 「大文字・小文字は、異なる文字として扱う」 on upsert, bulk-upsert, bulk-get and delete.
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_ID_CHAR = re.compile(r"[A-Za-z0-9_-]")
ID_MAX = 32
# 商品管理番号:SKU管理番号 matched at once: one match per code, not a split and two (a
# read-back slice is 2,500 codes a cycle at 100,000 listings). Neither half can hold
# ":", so this is the first ":" splitting two IDs, as partition then ID_RE on each half.
_CODE_RE = re.compile(f"({ID_RE.pattern}):({ID_RE.pattern})")
# A valid code already canonical: manageNumber lower-case (canonical_code folds it), no
# blank to trim. canonical_code returns such a code as it is, and _CODE_RE accepts it:
# one match instead of a fold and a match.
_CANONICAL_RE = re.compile(f"[a-z0-9_-]{{1,32}}:{ID_RE.pattern}")
# Codes joined by line breaks, every one of them canonical (no ID holds a line break).
_CANONICAL_LINES = re.compile(f"{_CANONICAL_RE.pattern}(?:\n{_CANONICAL_RE.pattern})*")

# Separators staff type by mistake between two codes (after NFKC: ；→; ／→/ 　→ space).
# The sheet itself splits a cell on its own separators (comma, 、, line break) first.
_MISTAKEN_SEPARATORS: tuple[tuple[str, str], ...] = (
    (";", "「;」"),
    ("/", "「/」（スラッシュ）"),
    (" ", "スペース（全角・半角）"),
    ("\t", "タブ"),
    ("|", "「|」"),
)
_EXAMPLE = "例 tshirt-01:red-m"


def canonical_code(code: str) -> str:
    """``manageNumber:variantId`` with manageNumber lower-cased, variantId as is.

    楽天 folds manageNumber to lower case and answers in lower case, but variantId
    is case-sensitive ([S5]), so only the first half may be folded. A code that is not
    of this form is returned trimmed and unchanged; the sheet reports it (code_problem)
    and pushes reject it with a message.

    A code already in canonical form comes back as the same object: the sheet's cell
    text and the Product's code then share one string (100k codes at 100k products).
    """
    code = code.strip()
    manage_number, sep, variant_id = code.partition(":")
    if not sep:
        return code
    folded = f"{manage_number.strip().lower()}:{variant_id.strip()}"
    return code if folded == code else folded


def split_code(code: str) -> tuple[str, str] | None:
    """(manageNumber, variantId) of a canonical code, or None if 楽天 would refuse it."""
    match = _CODE_RE.fullmatch(code)
    return None if match is None else (match[1], match[2])


def split_codes(codes: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """(code → :func:`canonical_code`, the canonical codes :func:`split_code` accepts).

    Both in the codes' order, each code once. Codes all canonical already (the sheet's
    are: a read-back slice is 2,500 of them a cycle at 100,000 listings) are checked by
    one match of them joined by line breaks (``_CANONICAL_LINES``, ~0.2 ms for 2,500
    against ~1.5 ms for a match a code, micro-benchmark); otherwise a code already
    canonical is checked by one match (``_CANONICAL_RE``), any other folded, then split.
    """
    codes = list(codes)
    joined = "\n".join(codes)
    if joined.count("\n") == len(codes) - 1 and _CANONICAL_LINES.fullmatch(joined):
        canonical = dict(zip(codes, codes, strict=True))
        return canonical, list(canonical)
    canonical = {}
    askable: dict[str, None] = {}
    match_canonical = _CANONICAL_RE.fullmatch
    for code in codes:
        if match_canonical(code) is not None:
            canonical[code] = code
            askable[code] = None
            continue
        folded = canonical[code] = canonical_code(code)
        if split_code(folded) is not None:
            askable[folded] = None
    return canonical, list(askable)


def code_problem(code: str) -> str | None:
    """Why ``code`` can never be a 楽天 SKU, in the words staff read; None if it may be."""
    text = code.strip()
    for mark, name in _MISTAKEN_SEPARATORS:
        if mark in text:
            return (
                f"{name}はコードの区切りに使えません。コードを複数書くときはカンマ（,）か"
                f"改行で区切ってください（{_EXAMPLE}）"
            )
    colons = text.count(":")
    if colons == 0:
        return f"「商品管理番号:SKU管理番号」の形で、「:」のあとに SKU管理番号 を書いてください（{_EXAMPLE}）"
    if colons > 1:
        return f"「:」が {colons} 個あります。1つのコードは「商品管理番号:SKU管理番号」の形です（{_EXAMPLE}）"
    manage_number, _, variant_id = text.partition(":")
    for part, label in (
        (manage_number.strip(), "商品管理番号"),
        (variant_id.strip(), "SKU管理番号"),
    ):
        if not part:
            return f"{label}が空です（{_EXAMPLE}）"
        wrong = "".join(dict.fromkeys(c for c in part if not _ID_CHAR.fullmatch(c)))
        if wrong:
            return (
                f"{label}に使えない文字「{wrong}」があります。"
                "使えるのは半角英数字・ハイフン（-）・アンダーバー（_）です"
            )
        if len(part) > ID_MAX:
            return f"{label}は {ID_MAX} 文字以内です（{len(part)} 文字あります）"
    return None
