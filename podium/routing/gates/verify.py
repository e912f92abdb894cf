"""The verify gate: check an answer against something that can prove it wrong.

- code: when the prompt holds tests (``assert`` statements, doctests, ``def test_...`` functions), the answer's Python
  code is run against them in a contained child process (podium.routing.gates.sandbox) with a time limit;
- JSON: when the request asks for JSON (``response_format``), the answer must parse and match its schema;
- math: the final number must agree with a second sample of the same cheap model (one of the ``n`` answers of
  the same call when the provider samples several, else one more call, charged like any other).
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import secrets
import warnings
from dataclasses import dataclass

from podium.core.pipeline import CallMeta, ModelCaller
from podium.core.types import ChatRequest, Completion
from podium.routing.gates.answers import answer_kind, code_language, extract_code, extract_number
from podium.routing.gates.checks import GateResult, json_gate
from podium.routing.gates.sandbox import run_python

_ASSERT_WORD = re.compile(r"(?<![\w.])assert\s")
# Text before an assert on its line that marks it as code, not a test the prompt states: indentation (a body line
# of quoted code), a comment, a doctest prompt.
_CODE_PREFIX = re.compile(r"^\s+$|#|//|>>>|\.\.\.\s*$")
# Lines that end a doctest's expected output in a prompt but are not part of it: code fences, docstring quotes.
_NOT_OUTPUT = re.compile(r"^\s*(?:```.*|\"\"\"|\'\'\')\s*$", re.MULTILINE)
_BLOCK = re.compile(r"```[ \t]*[\w+#-]*[^\n]*\n(.*?)```", re.DOTALL)
_TEST_DEF = re.compile(r"^\s*def test_\w+\s*\(", re.MULTILINE)
_MAX_TESTS = 50


@dataclass(frozen=True, slots=True)
class PromptTests:
    """The tests a prompt states: assert statements, doctest text and blocks defining test functions."""

    asserts: tuple[str, ...] = ()
    doctest_text: str = ""
    test_blocks: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.asserts or self.doctest_text or self.test_blocks)

    @property
    def described(self) -> str:
        parts = [f"{len(self.asserts)} assert(s)"] if self.asserts else []
        parts += ["doctests"] if self.doctest_text else []
        parts += [f"{len(self.test_blocks)} test block(s)"] if self.test_blocks else []
        return ", ".join(parts)


def prompt_tests(prompt: str) -> PromptTests:
    """The tests in ``prompt`` (empty when it states none)."""
    blocks = tuple(b for b in _BLOCK.findall(prompt) if _TEST_DEF.search(b))
    outside = prompt
    for block in blocks:
        outside = outside.replace(block, "")
    asserts = tuple(dict.fromkeys(_stated_asserts(outside)))[:_MAX_TESTS]
    text = _NOT_OUTPUT.sub("", prompt)
    has_doctest = False
    if ">>>" in text:
        import doctest  # with unittest it costs ~40 ms of start-up; only prompts quoting a session need it

        has_doctest = bool(doctest.DocTestParser().get_examples(text))
    return PromptTests(asserts, text if has_doctest else "", blocks)


def _stated_asserts(text: str) -> list[str]:
    """``assert <expr>`` statements the prompt states: on their own line, after prose on the same line ("It must
    pass: assert f(2) == 4") or inside backticks; each runs to the end of its line, its closing backtick or the
    next assert, and only one that parses as a single assert statement counts."""
    found: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            continue
        for index, piece in enumerate(line.split("`")):
            starts = [m.start() for m in _ASSERT_WORD.finditer(piece)]
            if not starts or (index == 0 and _CODE_PREFIX.search(piece[: starts[0]])):
                continue
            # After prose, "assert" may be an English verb: only a call or comparison counts as a test there.
            in_prose = index % 2 == 0 and (index > 0 or bool(piece[: starts[0]].strip()))
            found += _parsed_asserts(piece, starts, in_prose=in_prose)
    return found


def _parsed_asserts(piece: str, starts: list[int], *, in_prose: bool) -> list[str]:
    """Cut ``piece`` at each assert; a cut that does not parse alone is joined to the next (an assert whose
    message or string holds the word assert)."""
    out: list[str] = []
    i = 0
    while i < len(starts):
        nxt = i + 1
        for j in range(i + 1, len(starts) + 1):
            end = starts[j] if j < len(starts) else len(piece)
            statement = _assert_statement(piece[starts[i]:end], in_prose=in_prose)
            if statement is not None:
                out.append(statement)
                nxt = j
                break
        i = nxt
    return out


def _assert_statement(candidate: str, *, in_prose: bool) -> str | None:
    text = candidate.strip()
    for cut in (text.rstrip(" .;,"), re.sub(r"[\s.;,]+(?:and|or)$", "", text), text):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(cut)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
            continue
        if in_prose and not any(isinstance(n, (ast.Call, ast.Compare)) for n in ast.walk(tree.body[0].test)):
            return None
        return cut
    return None


# The child script: run the answer's code, then the prompt's tests in its namespace, and print one result line
# after a nonce the answer cannot know, so nothing the answer prints can pass for the verdict.
_RUNNER = '''
import doctest, io, json, sys
_MARK, _ANSWER, _ASSERTS, _DOCTEST, _BLOCKS = {payload}
def _report(**kw):
    sys.stdout.write("\\n" + _MARK + " " + json.dumps(kw) + "\\n"); sys.stdout.flush()
_ns = {{"__name__": "podium_answer"}}
try:
    exec(compile(_ANSWER, "answer.py", "exec"), _ns)
except BaseException as exc:
    _report(stage="answer", error=f"{{type(exc).__name__}}: {{exc}}"[:300]); sys.exit(1)
_total, _failed = 0, []
for _line in _ASSERTS:
    _total += 1
    try:
        exec(compile(_line, "prompt", "exec"), _ns)
    except BaseException as exc:
        _failed.append(_line if isinstance(exc, AssertionError) else f"{{_line}} ({{type(exc).__name__}}: {{exc}})")
for _block in _BLOCKS:
    _before = set(_ns)
    try:
        exec(compile(_block, "prompt-tests", "exec"), _ns)
    except ImportError as exc:
        _report(stage="setup", error=f"{{type(exc).__name__}}: {{exc}}"[:300]); sys.exit(3)
    for _name in [n for n in _ns if n.startswith("test_") and n not in _before and callable(_ns[n])]:
        _total += 1
        try:
            _ns[_name]()
        except BaseException as exc:
            _failed.append(f"{{_name}} ({{type(exc).__name__}}: {{exc}})")
class _Runner(doctest.DocTestRunner):
    def report_failure(self, out, test, example, got):
        _failed.append(f"doctest {{example.source.strip()}} gave {{got.strip()!r}}, not {{example.want.strip()!r}}")
    def report_unexpected_exception(self, out, test, example, exc_info):
        _failed.append(f"doctest {{example.source.strip()}} raised {{exc_info[0].__name__}}: {{exc_info[1]}}")
if _DOCTEST:
    _runner = _Runner(verbose=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    _test = doctest.DocTestParser().get_doctest(_DOCTEST, dict(_ns), "prompt", "prompt", 0)
    _total += _runner.run(_test, out=io.StringIO().write).attempted
_report(stage="tests", total=_total, failed=[str(f)[:200] for f in _failed[:5]], failures=len(_failed))
sys.exit(0 if not _failed else 2)
'''


def _script(mark: str, code: str, tests: PromptTests) -> str:
    payload = repr((mark, code, list(tests.asserts), tests.doctest_text, list(tests.test_blocks)))
    return _RUNNER.format(payload=payload)


def _verdict(output: str, mark: str) -> dict[str, object] | None:
    for line in reversed(output.splitlines()):
        if line.startswith(mark + " "):
            try:
                value = json.loads(line[len(mark) + 1:])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


async def code_verdict(request: ChatRequest, completion: Completion, *, timeout_s: float) -> GateResult | None:
    """Run the answer's code on the prompt's tests; None when the prompt states no tests."""
    tests = prompt_tests(request.last_user_text)
    if not tests:
        return None
    if (code_language(request.last_user_text) or "python") != "python":
        return GateResult(True, "verify", None, "code: only Python answers are run on the prompt's tests", applicable=False)
    code = extract_code(completion.text)
    if code is None:
        return GateResult(False, "verify", 0.0, f"code: the prompt states tests ({tests.described}) but the answer holds no code")
    mark = f"PODIUM-VERIFY-{secrets.token_hex(8)}"
    outcome = await asyncio.to_thread(run_python, _script(mark, code, tests), timeout_s=timeout_s)
    if outcome.timed_out:
        return GateResult(False, "verify", 0.0, f"code: the answer's code did not finish within {timeout_s:g}s")
    found = _verdict(outcome.output, mark)
    if found is None:
        return GateResult(False, "verify", 0.0, f"code: the answer's code stopped the test run (exit {outcome.exit_code})")
    if found.get("stage") == "answer":
        return GateResult(False, "verify", 0.0, f"code: the answer's code does not run: {found.get('error')}")
    if found.get("stage") == "setup":
        why = f"code: the prompt's tests could not be set up ({found.get('error')})"
        return GateResult(True, "verify", None, why, applicable=False)
    total, failures = int(found.get("total") or 0), int(found.get("failures") or 0)
    if failures:
        first = (found.get("failed") or ["?"])[0]  # type: ignore[index]
        score = (total - failures) / total if total else 0.0
        return GateResult(False, "verify", score, f"code: {failures} of {total} prompt test(s) failed in the sandbox: {first}")
    return GateResult(True, "verify", 1.0, f"code: all {total} prompt test(s) pass in the sandbox")


def math_verdict(request: ChatRequest, answer: str, second: str, *, source: str) -> GateResult:
    """The final number of ``answer`` must equal that of ``second`` (another sample of the same model)."""
    mine, theirs = extract_number(answer), extract_number(second)
    if mine is None:
        return GateResult(False, "verify", 0.0, "math: the answer states no final number")
    if mine == theirs:
        return GateResult(True, "verify", 1.0, f"math: final answer {mine} agrees with {source}")
    return GateResult(False, "verify", 0.0, f"math: final answer {mine} but {source} says {theirs or 'nothing'}")


async def verify_gate(
    request: ChatRequest,
    completion: Completion,
    *,
    model: str,
    caller: ModelCaller,
    meta: CallMeta,
    timeout_s: float,
) -> tuple[GateResult, Completion | None]:
    """The verify verdict, and the completion of any extra call it made (a second math sample), to be paid for."""
    kind = answer_kind(request)
    if kind == "json":
        result = json_gate(request, completion)
        return GateResult(result.passed, "verify", result.score, f"json: {result.reason}"), None
    if kind == "number":
        if completion.samples and len(completion.samples) > 1:
            return math_verdict(request, completion.text, completion.samples[1], source="a second sample of the same call"), None
        second = await caller(model, request.with_model(model), meta)
        return math_verdict(request, completion.text, second.text, source=f"a second answer of {model}"), second
    if kind == "code" or prompt_tests(request.last_user_text):
        result = await code_verdict(request, completion, timeout_s=timeout_s)
        if result is not None:
            return result, None
        return GateResult(True, "verify", None, "code: the prompt states no tests to run", applicable=False), None
    return GateResult(True, "verify", None, "nothing to verify for a free-form answer", applicable=False), None
