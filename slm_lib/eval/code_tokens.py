"""Code in answers: flag an operator, a number or a keyword that differs from the reference's code.

Both code parts (fenced blocks, inline code, lines that read like code) are split into tokens;
names the author chose (``n``, ``text``, ``order_count``) become ``ID`` so that renaming is no
difference, while operators, numbers and meaningful names stay. ``difflib`` lines the two token
streams up; a short replacement inside otherwise matching code is a flag when both sides are of
one kind: an operator for an operator (``==`` vs ``!=``), a number for a number (``0`` vs ``1``,
``-1`` vs ``1``), or names from one family (``COUNT``/``SUM``, ``min``/``max``, ``ASC``/``DESC``).
Dropping or adding ``not``, ``DESC`` or ``DISTINCT`` is flagged too.

Example:
    >>> check_code("[x for x in xs if x % 2 == 1]", "[n for n in xs if n % 2 == 0]")[0].message
    "the code has '1' where the reference's code has '0'"
"""

from __future__ import annotations

import difflib
import keyword
import re

from slm_lib.eval.wording import Flag, split_code

__all__ = ["check_code", "code_tokens"]

_TOKEN = re.compile(
    r"""(?P<str>'[^'\n]*'|"[^"\n]*")|(?P<num>\d+\.?\d*)|(?P<name>[A-Za-z_]\w*)|"""
    r"""(?P<op>==|!=|<=|>=|<>|//|\*\*|->|\+=|-=|\*=|/=|%=|&&|\|\||[-+*/%<>=!&|^~@:;,.()\[\]{}])"""
)
_COMMENT = re.compile(r"#[^\n]*|--[^\n]*")
_FAMILIES = [
    frozenset(f.split())
    for f in (
        "count sum avg min max len mean",
        "lower upper title capitalize swapcase",
        "startswith endswith",
        "floor ceil round trunc",
        "any all",
        "true false",
        "and or",
        "asc desc",
        "inner left right full cross outer",
        "union intersect except intersection difference",
        "append extend insert remove pop",
        "sorted reversed",
        "sort reverse",
        "lstrip rstrip strip",
        "where having",
        "break continue",
        "range enumerate",
    )
]
_TOGGLES = {"not", "desc", "distinct", "!"}
_OPERATORS = {
    "==",
    "!=",
    "<=",
    ">=",
    "<>",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "**",
    "and",
    "or",
    "not",
    "in",
    "is",
}
_MEANINGFUL = {w for f in _FAMILIES for w in f} | _TOGGLES | {"none", "null", "self"}


def code_tokens(code: str) -> list[tuple[str, str]]:
    """``(kind, token)`` pairs; numbers after an operator or bracket keep their sign (``-1``)."""
    out: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(_COMMENT.sub(" ", code)):
        kind = m.lastgroup or "op"
        token = m.group(0)
        if kind == "num" and out and out[-1] == ("op", "-") and (len(out) < 2 or out[-2][0] == "op"):
            out[-1] = ("num", "-" + token)  # [::-1]: a negative step, not a subtraction
            continue
        if kind == "name" and token.lower() in ("and", "or", "not", "in", "is"):
            kind = "op"
        out.append((kind, token))
    return out


def _norm(kind: str, token: str) -> str:
    """What a token means for the comparison: chosen names become ID, strings STR."""
    if kind == "name":
        low = token.lower()
        return low if low in _MEANINGFUL or keyword.iskeyword(low) or low in _SQL else "ID"
    if kind == "str":
        return "STR"
    return token.lower()


_SQL = {"select", "from", "group", "by", "order", "join", "on", "limit", "as", "where", "having", "count", "sum"}


def _comparable(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Are two differing tokens of one kind, so that one in place of the other changes the result?"""
    (ka, ta), (kb, tb) = a, b
    if ka == kb == "num":
        return True
    if ka == kb == "op" or {ka, kb} <= {"op", "name"} and {ta.lower(), tb.lower()} <= _OPERATORS:
        return ta.lower() in _OPERATORS and tb.lower() in _OPERATORS
    return any(ta.lower() in f and tb.lower() in f for f in _FAMILIES)


def check_code(answer: str, reference: str, question: str = "") -> list[Flag]:
    """Flags for tokens that differ inside code that otherwise matches the reference's code."""
    ref_code, ans_code = split_code(reference)[1], split_code(answer)[1]
    if not ref_code.strip() or not ans_code.strip():
        return []
    ref, ans = code_tokens(ref_code), code_tokens(ans_code)
    a_norm, r_norm = [_norm(*t) for t in ans], [_norm(*t) for t in ref]
    matcher = difflib.SequenceMatcher(a=r_norm, b=a_norm, autojunk=False)
    ops = matcher.get_opcodes()
    flags: list[Flag] = []
    for n, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal" or not _anchored(ops, n):
            continue
        if tag == "replace" and max(i2 - i1, j2 - j1) <= 3:
            # pair from the end: "biggest = min(" against "max(" compares min with max
            for r_tok, a_tok in zip(reversed(ref[i1:i2]), reversed(ans[j1:j2]), strict=False):
                if r_tok[1] != a_tok[1] and _comparable(r_tok, a_tok):
                    flags.append(Flag("code", f"the code has '{a_tok[1]}' where the reference's code has '{r_tok[1]}'"))
        elif tag == "delete" and i2 - i1 == 1 and r_norm[i1] in _TOGGLES:
            flags.append(Flag("code", f"the code leaves out '{ref[i1][1]}', which the reference's code has"))
        elif tag == "insert" and j2 - j1 == 1 and a_norm[j1] in _TOGGLES:
            flags.append(Flag("code", f"the code adds '{ans[j1][1]}', which the reference's code does not have"))
    return flags[:3]


def _anchored(ops: list[tuple[str, int, int, int, int]], n: int) -> bool:
    """A difference counts when matching code surrounds it (two tokens on each side, or the end)."""
    before = ops[n - 1] if n > 0 else None
    after = ops[n + 1] if n + 1 < len(ops) else None

    def ok(op: tuple[str, int, int, int, int] | None) -> bool:
        if op is None:
            return True
        edge = (op[1] == 0 and op[3] == 0) or op is ops[-1]  # the code starts or ends there
        return (op[0] == "equal" and (op[2] - op[1] >= 2 or edge)) or (op[0] in ("insert", "delete") and edge)

    return ok(before) and ok(after) and (before is not None or after is not None)
