"""What kind of answer a prompt asks for, and that answer pulled out of a response in a comparable form.

Used by the final-answer and agreement gates and by ensemble voting: two responses "agree" when their
normalized answers are equal, which only makes sense for closed answers (a choice letter, a number).
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from podium.core.types import ChatRequest, Completion

AnswerKind = Literal["choice", "number", "code", "json"]

# Completion metadata key: False when the answer's text was never recorded (outcome-only replay data).
TEXT_RECORDED = "text_recorded"


def text_recorded(completion: Completion) -> bool:
    """Whether the completion carries its answer text; replay of outcome-only data (correctness without answers)
    does not, and gates that read the answer then have nothing to judge."""
    return completion.metadata.get(TEXT_RECORDED) is not False


_OPTION_LINE = re.compile(r"^\s*\(?([A-J])[).:]\s+\S", re.MULTILINE)
_LANG_NAME = r"(?:python|javascript|typescript|java|rust|golang|c\+\+|c#|sql|bash|ruby|php|kotlin|swift)(?![\w+#])"
_BUILD = r"\b(?:write|implement|create|build|code|develop|program|generate|complete|fix|refactor|rewrite|port)\b"
# A code ask: a verb of making followed (within the clause) by a code artifact (a function, an algorithm, unit
# tests) or by "in/using <language>"; or "<language> function/code/...". A language named without one ("What is
# Python?", "a poem about Python") is a question about it, not an ask for code.
_CODE_ASK = re.compile(
    rf"{_BUILD}[^.?!\n]{{0,60}}\b(?:function|class|method|program|script|code|algorithm|module|snippet"
    r"|data structure|decorator|unit tests?)\b"
    rf"|{_BUILD}[^.?!\n]{{0,80}}\b(?:in|using|with)\s+{_LANG_NAME}"
    rf"|(?<![\w+#]){_LANG_NAME}\s+(?:function|code|script|program|class|method|module|implementation|snippet"
    r"|query)\b",
    re.IGNORECASE,
)
_MATH_ASK = re.compile(
    r"\b(how (many|much|long|far|old)|what is the (total|sum|difference|product|number|value)|calculate|compute"
    r"|solve|percent|profit|average)\b",
    re.IGNORECASE,
)
# Asks for a number whatever the topic ("Reply with the number.", "Give the number only"), and arithmetic
# questions ("What is 17*23?"): these need no other math wording.
_NUMBER_ASK = re.compile(
    r"\b(?:reply|respond|answer|give|return|output|state)(?:\s+(?:with|me|only|just))*"
    r"(?:\s+(?:the|a|one|single|final|plain|exact|whole))*\s+(?:number|integer|numeric(?:al)? (?:value|answer))\b"
    r"(?!\s+of\b)"
    r"|\b(?:number|integer|numeric(?:al)? (?:value|answer)) only\b|\bjust the number\b"
    r"|\b(?:what(?:'s| is| are)|compute|calculate|evaluate|simplify)\s+\(?-?\d[\d,.]*"
    r"(?:\s*(?:\*\*|[-+*/x×÷^])\s*\(?-?\d[\d,.]*\)?)+\s*(?:[?=]|\.?\s*$|\.\s)",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
_FINAL_NUMBER = re.compile(
    r"(?:####|answer is|answer:|=)\s*\**\s*(-?\$?\d[\d,]*(?:\.\d+)?)", re.IGNORECASE
)
_CHOICE_PHRASE = re.compile(
    r"(?:answer|choice|option)\s*(?:is|:)?\s*[:\-]?\s*\(?\**([A-J])\b\)?", re.IGNORECASE
)
_CHOICE_START = re.compile(r"^\W{0,3}([A-J])(?:[).:\]\s,]|$)")
_CODE_BLOCK = re.compile(r"```[ \t]*([\w+#-]*)[^\n]*\n(.*?)(?:```|$)", re.DOTALL)
_TAGGED_CODE = re.compile(r"\[PYTHON\](.*?)(?:\[/PYTHON\]|$)", re.DOTALL | re.IGNORECASE)
_LANGS = ("python", "javascript", "typescript", "java", "rust", "golang", "c++", "c#", "sql", "bash", "ruby", "php")


def response_text(text: str) -> str:
    """Recorded responses are sometimes stored as a Python list literal (``"['C']"``); unwrap those."""
    stripped = text.strip()
    if len(stripped) >= 4 and stripped[0] == "[" and stripped[-1] == "]" and stripped[1] in "'\"":
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "\n".join(value)
    return text


def _last_question(prompt: str) -> str:
    """Few-shot prompts repeat solved examples; the question being asked is the last block."""
    blocks = [b for b in re.split(r"\n\s*\n", prompt.strip()) if b.strip()]
    return blocks[-1] if blocks else prompt


# Gates, votes and evaluation ask about the same prompts and answers many times; these are pure, so cache them.
@lru_cache(maxsize=4096)
def choice_letters(prompt: str) -> tuple[str, ...]:
    """Option letters (``A) ...`` lines) of the last question in the prompt, or () when it is not multiple choice."""
    letters = _OPTION_LINE.findall(_last_question(prompt))
    return tuple(dict.fromkeys(letters)) if len(set(letters)) >= 2 else ()


@lru_cache(maxsize=4096)
def code_language(prompt: str) -> str | None:
    """The language a code request names, ``python`` when it names none, or None when no code is asked for."""
    if not _CODE_ASK.search(prompt):
        return None
    lowered = prompt.lower()
    for lang in _LANGS:
        if re.search(rf"(?<![\w+#]){re.escape(lang)}(?![\w+#])", lowered):
            return lang
    return "python"


def answer_kind(request: ChatRequest) -> AnswerKind | None:
    """The closed answer shape a request asks for, or None for free-form text."""
    fmt = (request.response_format or {}).get("type")
    if fmt in ("json_object", "json_schema"):
        return "json"
    return _prompt_kind(request.last_user_text)


@lru_cache(maxsize=4096)
def _prompt_kind(prompt: str) -> AnswerKind | None:
    if choice_letters(prompt):
        return "choice"
    if code_language(prompt):
        return "code"
    question = _last_question(prompt)
    if _NUMBER_ASK.search(question) or (_MATH_ASK.search(question) and re.search(r"\d", prompt)):
        return "number"
    return None


def extract_choice(text: str, letters: tuple[str, ...]) -> str | None:
    """The option letter a response picks, or None when it picks none of ``letters``."""
    body = response_text(text).strip()
    for pattern in (_CHOICE_START, _CHOICE_PHRASE):
        match = pattern.search(body)
        if match and match.group(1).upper() in letters:
            return match.group(1).upper()
    return None


def normalize_number(raw: str) -> str | None:
    """``"$1,200.50"`` -> ``"1200.5"``; None when ``raw`` is not a number."""
    cleaned = raw.replace(",", "").replace("$", "").rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def extract_number(text: str) -> str | None:
    """The final numeric answer: after ``####`` / "answer is" / the last ``=``, else the last number in the text."""
    body = response_text(text)
    finals = _FINAL_NUMBER.findall(body)
    if finals:
        return normalize_number(finals[-1])
    numbers = _NUMBER.findall(body)
    return normalize_number(numbers[-1]) if numbers else None


def extract_code(text: str) -> str | None:
    """The code in a response: fenced blocks, ``[PYTHON]`` blocks, or the whole text when it looks like code."""
    body = response_text(text)
    blocks = [code for _lang, code in _CODE_BLOCK.findall(body) if code.strip()]
    blocks += [code for code in _TAGGED_CODE.findall(body) if code.strip()]
    if blocks:
        return "\n\n".join(blocks)
    if re.search(r"^\s*(def|class|import|from)\s+\w", body, re.MULTILINE):
        return body
    return None


def code_block_languages(text: str) -> list[str]:
    """Languages named on the response's fenced code blocks (``"python"``, ``"js"``, ``""`` when unnamed)."""
    return [lang.lower() for lang, code in _CODE_BLOCK.findall(response_text(text)) if code.strip()]


def normalized_answer(request: ChatRequest, text: str) -> str | None:
    """A comparable form of the response's answer, or None when the request has no closed answer or none is found."""
    if answer_kind(request) not in ("choice", "number"):
        return None
    return _normalized(request.last_user_text, text)


@lru_cache(maxsize=16384)
def _normalized(prompt: str, text: str) -> str | None:
    letters = choice_letters(prompt)
    if letters:
        return extract_choice(text, letters)
    return extract_number(text)


_JSON_FENCE = re.compile(r"^```(?:json)?\s*\n(.*?)\n?```$", re.DOTALL)


def comparable_answer(request: ChatRequest, text: str) -> str | None:
    """What two samples of one request must share to count as the same answer: the choice letter or final number,
    the code (Python compared by syntax tree, so formatting and comments do not matter), or the JSON value; None
    for free-form text, or when the sample holds no such answer."""
    kind = answer_kind(request)
    if kind in ("choice", "number"):
        return normalized_answer(request, text)
    if kind == "code":
        code = extract_code(text)
        return None if code is None else _code_key(code)
    if kind == "json":
        body = response_text(text).strip()
        fenced = _JSON_FENCE.match(body)
        try:
            value = json.loads(fenced.group(1) if fenced else body)
        except ValueError:
            return None
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return None


def _code_key(code: str) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return " ".join(code.split())
