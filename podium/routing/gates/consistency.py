"""Self-consistency checks on an answer's own text: its arithmetic adds up and it was not cut off.

Both are cheap, model-free signals that a worked answer went wrong: a chain of thought whose stated
calculations are false, or a response that stops mid-calculation (a length limit hit before the answer).
"""

from __future__ import annotations

import ast
import operator
import re
from decimal import Decimal, InvalidOperation

from podium.core.types import ChatRequest, Completion
from podium.routing.gates.answers import answer_kind, response_text
from podium.routing.gates.checks import GateResult

_NUM = r"\$?-?\d[\d,]*(?:\.\d+)?%?"
# "<<3*4=12>>" calculator annotations and plain "3 x 4 = 12" / "$5 * 8 = $40" statements.
_ANNOTATION = re.compile(r"<<([^<>=]+)=([^<>]+)>>")
_STATEMENT = re.compile(
    rf"(?<![\w.])({_NUM}(?:\s*[-+*/x×÷]\s*{_NUM})+)\s*=\s*({_NUM})(?![\w.]*[-+*/x×÷]\s*\d)", re.IGNORECASE
)
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_MAX_CHECKS = 40
# Endings that mean the text stopped mid-calculation: an open "<<" annotation, an operator, "=", "(" or ",".
_CUT_OFF = re.compile(r"(?:<<[^>]*|[-+*/=×(,$])$")
_SHORT_ANSWER = 80  # a bare "A" or "42" is complete by definition


def _number(raw: str) -> Decimal | None:
    cleaned = raw.strip().replace(",", "").replace("$", "")
    scale = Decimal(1)
    if cleaned.endswith("%"):
        cleaned, scale = cleaned[:-1], Decimal("0.01")
    try:
        return Decimal(cleaned) * scale
    except InvalidOperation:
        return None


def _evaluate(expr: str) -> float | None:
    """The value of a plain arithmetic expression (numbers, + - * / and parentheses), else None."""
    text = re.sub(r"(?<=\d)\s*[x×]\s*(?=[\d$(])", "*", expr).replace("÷", "/")
    text = re.sub(r"\$|(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"(\d+(?:\.\d+)?)%", r"(\1/100)", text)
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    return _value(node)


def _value(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _value(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _value(node.left), _value(node.right)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return _OPS[type(node.op)](left, right)
    return None


def _close(stated: Decimal, computed: float) -> bool:
    # Answers round (money to cents, people to whole numbers): accept 1% or rounding to an integer/cent.
    s = float(stated)
    return abs(s - computed) <= max(0.011, 0.01 * abs(computed)) or round(computed) == s


def wrong_calculations(text: str) -> list[str]:
    """The stated calculations in ``text`` that are false (``"3*4=13"``); unparseable ones are skipped."""
    body = response_text(text)
    found = [(e, v) for e, v in _ANNOTATION.findall(body)]
    found += [(e, v) for e, v in _STATEMENT.findall(_ANNOTATION.sub(" ", body))]
    wrong = []
    for expr, value in found[:_MAX_CHECKS]:
        stated, computed = _number(value), _evaluate(expr)
        if stated is not None and computed is not None and not _close(stated, computed):
            wrong.append(f"{expr.strip()}={value.strip()}")
    return wrong


def arithmetic_gate(request: ChatRequest, completion: Completion) -> GateResult:
    """For numeric questions, every calculation the answer states must be right."""
    if answer_kind(request) != "number":
        return GateResult(True, "arithmetic", None, "not a numeric question", applicable=False)
    wrong = wrong_calculations(completion.text)
    if wrong:
        return GateResult(False, "arithmetic", 0.0, f"stated calculation is wrong: {wrong[0]}")
    return GateResult(True, "arithmetic", 1.0, "stated calculations check out")


def truncation_gate(request: ChatRequest, completion: Completion) -> GateResult:
    """Fails when a worked answer stops mid-calculation (or the provider says it hit the length limit)."""
    if completion.finish_reason == "length":
        return GateResult(False, "truncation", 0.0, "the answer hit the output-token limit")
    body = response_text(completion.text).rstrip()
    if not body:
        return GateResult(False, "truncation", 0.0, "the answer is empty")
    if len(body) >= _SHORT_ANSWER and (body.count("```") % 2 or _CUT_OFF.search(body[-40:])):
        return GateResult(False, "truncation", 0.0, f"the answer stops mid-way: ...{body[-30:]!r}")
    return GateResult(True, "truncation", 1.0, "the answer is complete")
