"""The testgen analyser, code extraction, validator and pytest child process, without any model."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from podium.core.errors import ValidationError
from podium.workflows.testgen import (
    analyze_file,
    analyze_source,
    cyclomatic_complexity,
    default_test_path,
    extract_code,
    run_pytest,
    static_checks,
    validate,
)
from podium.workflows.testgen.prompts import generate_request, plan_request, repair_request

SOURCE = textwrap.dedent(
    '''
    """Parsing helpers."""
    import re


    def tokenize(text: str, *, sep: str = " ") -> list[str]:
        """Split text into tokens."""
        return [t for t in text.split(sep) if t]


    async def fetch(url, retries=3):
        for _ in range(retries):
            if url and retries > 1 or url.startswith("x"):
                return url
        return None


    def _private(x):
        return x


    class Parser:
        """Parses things."""

        def __init__(self, strict=False):
            self.strict = strict

        def parse(self, text):
            try:
                return int(text)
            except ValueError:
                if self.strict:
                    raise
                return None

        def _helper(self):
            return 1


    class _Internal:
        def visible(self):
            return 2
    '''
)


def _analysis(tmp_path: Path, source: str = SOURCE, name: str = "parsing.py"):
    path = tmp_path / name
    path.write_text(source)
    return analyze_file(path)


def test_analyser_finds_the_public_surface_with_signatures_docstrings_and_complexity(tmp_path: Path) -> None:
    a = _analysis(tmp_path)
    assert [f.qualname for f in a.targets] == ["tokenize", "fetch", "Parser.__init__", "Parser.parse"]
    assert a.public_names == ("tokenize", "fetch", "Parser", "parse")
    tokenize, fetch = a.functions[0], a.functions[1]
    assert tokenize.signature == "(text: str, *, sep: str=' ') -> list[str]"
    assert tokenize.docstring == "Split text into tokens." and tokenize.complexity == 3  # comprehension + its if
    assert fetch.is_async and fetch.complexity == 5  # for, if, `and`, `or`
    parse = a.classes[0].methods[1]
    assert parse.complexity == 3  # except handler + if
    assert a.max_complexity == 5 and a.level == "moderate"
    assert a.module == "parsing" and a.import_root == tmp_path.resolve()
    outline = a.outline()
    assert "def tokenize(text: str, *, sep: str=' ') -> list[str]  [complexity 3]  # Split text" in outline
    assert "class Parser:  # Parses things." in outline and "_private" not in outline and "_Internal" not in outline
    assert "return" not in outline


def test_modules_inside_packages_import_by_their_dotted_name(tmp_path: Path) -> None:
    pkg = tmp_path / "shop" / "billing"
    pkg.mkdir(parents=True)
    for folder in (tmp_path / "shop", pkg):
        (folder / "__init__.py").write_text("")
    (pkg / "tax.py").write_text("def rate(country):\n    return 0.2\n")
    a = analyze_file(pkg / "tax.py")
    assert (a.module, a.import_root) == ("shop.billing.tax", tmp_path.resolve())
    assert default_test_path(pkg / "tax.py") == pkg / "tax_test.py"


@pytest.mark.parametrize(
    ("source", "level"),
    [
        ("def f(x):\n    return x\n", "simple"),
        (
            "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(10)) + "    return x\n",
            "complex",
        ),
        ("\n".join(f"def f{i}(x):\n    return x\n" for i in range(20)), "complex"),
        (
            "def f(x):\n" + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(20)) + "    return x\n",
            "expert",
        ),
    ],
    ids=["one-path", "ten-branches", "twenty-functions", "twenty-branches"],
)
def test_level_rises_with_the_hardest_function_and_the_amount_to_cover(tmp_path: Path, source: str, level: str) -> None:
    assert analyze_source(source, tmp_path / "m.py").level == level


def test_nested_functions_count_toward_their_own_complexity() -> None:
    tree = ast.parse("def outer(x):\n    def inner(y):\n        if y:\n            return 1\n    return inner\n")
    outer = tree.body[0]
    assert cyclomatic_complexity(outer) == 1
    assert cyclomatic_complexity(outer.body[0]) == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("gone.py", None, "no such file"),
        ("data.json", "{}", "is not a Python file"),
        ("bad.py", "def f(:\n    pass\n", "bad.py:1: "),
        ("latin.py", b"x = '\xe9'\n", "is not UTF-8 text"),
        ("private.py", "def _hidden():\n    pass\n", "no public functions or classes"),
    ],
)
def test_bad_sources_fail_with_one_line_naming_the_file(tmp_path: Path, name: str, content, message: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ValidationError) as err:
        analyze_file(path)
    assert message in str(err.value) and "\n" not in str(err.value) and err.value.field == "file"


# -- extraction and checks --------------------------------------------------------------------------------------------


def test_extract_code_takes_the_longest_python_block_or_a_bare_file() -> None:
    reply = "Plan:\n```text\nnot code\n```\n```python\nshort = 1\n```\nand\n```py\ndef test_a():\n    assert 1\n```"
    assert extract_code(reply) == "def test_a():\n    assert 1\n"
    assert extract_code("def test_a():\n    assert True\n") == "def test_a():\n    assert True\n"
    assert extract_code("```python\ndef test_cut():\n    assert 1\n") == "def test_cut():\n    assert 1\n"  # truncated
    assert extract_code("Sorry, I can't do that.") is None


def test_static_checks_name_what_is_missing(tmp_path: Path) -> None:
    a = _analysis(tmp_path)
    code = textwrap.dedent(
        """
        import pytest
        from parsing import Parser, tokenize as tok

        def test_tokens():
            assert tok("a b") == ["a", "b"]

        class TestParser:
            def test_parse_quietly(self):
                Parser().parse("x")

            def test_strict(self):
                with pytest.raises(ValueError):
                    Parser(strict=True).parse("x")
        """
    )
    checks, _, n_tests = static_checks(code, a)
    verdicts = {c.name: (c.passed, c.detail) for c in checks}
    assert n_tests == 3
    assert verdicts["test functions"] == (True, "3 tests, imports pytest")
    assert verdicts["covers public API"] == (False, "not referenced fetch")
    assert verdicts["assertions"] == (False, "no assert in test_parse_quietly")


def test_a_syntax_error_stops_the_checks_with_its_line(tmp_path: Path) -> None:
    report = validate("```python\ndef test_x(:\n    assert 1\n```", _analysis(tmp_path), filename="parsing_test.py")
    assert not report.passed and report.errors == ["syntax: line 1: invalid syntax"]
    assert report.pytest is None  # no child process for code that cannot even parse


GOOD = textwrap.dedent(
    """
    import pytest
    from parsing import Parser, fetch, tokenize

    def test_tokenize():
        assert tokenize("a  b") == ["a", "b"]

    def test_parse():
        assert Parser().parse("3") == 3
        assert Parser().parse("x") is None

    def test_fetch_is_a_coroutine():
        coro = fetch("u")
        assert coro is not None
        coro.close()
    """
)


def test_collection_runs_in_a_child_with_the_module_importable_and_no_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak-123456")
    a = _analysis(tmp_path)
    leak = GOOD + "\nimport os\nassert 'OPENAI_API_KEY' not in os.environ\n"
    report = validate(f"```python\n{leak}```", a, filename="parsing_test.py")
    assert report.passed, report.errors
    assert report.checks[-1].name == "pytest collects" and report.checks[-1].detail == "3 collected"
    assert not (tmp_path / "parsing_test.py").exists()  # validation never writes next to the source


def test_import_errors_in_generated_tests_are_reported_from_pytest(tmp_path: Path) -> None:
    bad = GOOD.replace("from parsing import", "from parsing_typo import")
    report = validate(bad, _analysis(tmp_path), filename="parsing_test.py")
    assert not report.passed
    assert report.errors == ["pytest collects: E   ModuleNotFoundError: No module named 'parsing_typo'"]


def test_run_mode_reports_failing_tests_and_the_network_stays_closed(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import socket

        def test_passes():
            assert 1 + 1 == 2

        def test_network_is_refused():
            s = socket.socket()
            try:
                s.connect(("192.0.2.1", 80))
            finally:
                s.close()
        """
    )
    outcome = run_pytest(code, filename="x_test.py", import_root=tmp_path, collect_only=False, timeout_s=60)
    assert (outcome.passed, outcome.failed) == (1, 1) and not outcome.ok
    assert any("network access to '192.0.2.1' is disabled" in line for line in outcome.error_lines())


def test_a_hanging_collection_is_killed_at_the_timeout(tmp_path: Path) -> None:
    outcome = run_pytest("import time\ntime.sleep(60)\n", filename="x_test.py", import_root=tmp_path, timeout_s=1.0)
    assert outcome.timed_out and "did not finish within 1s" in outcome.output


# -- prompts ----------------------------------------------------------------------------------------------------------


def test_prompts_keep_the_orchestrator_small_and_give_the_executor_everything(tmp_path: Path) -> None:
    a = _analysis(tmp_path)
    plan = plan_request(a)
    assert (
        plan.max_tokens == 300 and "int(text)" not in plan.prompt_text and "def parse(self, text)" in plan.prompt_text
    )
    gen = generate_request(a, "1. empty input")
    assert "int(text)" in gen.prompt_text and "1. empty input" in gen.prompt_text
    assert "`from parsing import ...`" in gen.prompt_text and "tokenize, fetch, Parser, parse" in gen.prompt_text
    repair = repair_request(a, None, "def test_x(): pass", ["assertions: no assert in test_x"])
    assert "- assertions: no assert in test_x" in repair.prompt_text and "def test_x(): pass" in repair.prompt_text
