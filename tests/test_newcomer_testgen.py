"""`podium testgen` after a plain `pip install -e .`: pytest comes with Podium, and an interpreter without it fails
before any model is paid for, with one line saying how to install it."""

from __future__ import annotations

import tomllib
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.config.root import PodiumConfig
from podium.core.errors import ValidationError
from podium.engine import Podium
from podium.testing import FakeUpstream, serve
from podium.workflows.testgen import GenerationOptions, analyze_file, generate_tests

ROOT = Path(__file__).resolve().parents[1]
KEY = "test-key-0123456789"
KEYS = {"ANTHROPIC_API_KEY": KEY, "GOOGLE_API_KEY": KEY}


def test_pytest_is_a_base_dependency_because_testgen_validates_with_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(dep.split(">")[0].strip() == "pytest" for dep in project["dependencies"])


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real interpreter that has no pytest: a fresh virtual environment without pip or site-packages."""
    folder = tmp_path_factory.mktemp("bare-venv")
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(folder)
    return str(folder / "bin" / "python")


async def test_an_interpreter_without_pytest_fails_before_any_model_call(
    upstream: tuple[FakeUpstream, str], bare_python: str, tmp_path: Path
) -> None:
    fake, base = upstream
    fake.reset()
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + b\n")
    config = PodiumConfig.from_mapping(
        {"providers": {"anthropic": {"base_url": base}, "gemini": {"base_url": base}}}
    )
    output = tmp_path / "calc_test.py"
    async with Podium.from_config(config, env=KEYS, home=tmp_path / "home") as client:
        with pytest.raises(ValidationError) as caught:
            await generate_tests(
                client,
                analyze_file(source),
                config.orchestration,
                options=GenerationOptions(output=output, python=bare_python),
                env=KEYS,
            )
    message = str(caught.value)
    assert "pytest is not installed" in message and "pip install pytest" in message and "\n" not in message
    assert fake.requests == []  # nothing was sent, so nothing was paid for
    assert not output.exists()



def test_testgen_accepts_file_as_an_option_too(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from podium.cli.main import app

    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + b\n")
    runner = CliRunner()
    by_option = runner.invoke(app, ["testgen", "--file", str(source), "--dry-run", "--json", "--no-plan"])
    by_argument = runner.invoke(app, ["testgen", str(source), "--dry-run", "--json", "--no-plan"])
    assert by_option.exit_code == by_argument.exit_code == 0
    assert by_option.stdout == by_argument.stdout
    missing = runner.invoke(app, ["testgen"])
    assert missing.exit_code == 2 and "no file given" in missing.stderr
