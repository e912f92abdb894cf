"""The README's commands run: every `podium ...` line of its ```bash blocks either runs offline through the real CLI
(replay, or a command that needs no key) and succeeds, or is in SKIPPED below with the reason it cannot run here.

The README is read when the test runs, so a changed or new command is checked (or must be listed) at once."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app

pytestmark = pytest.mark.slow  # training, replays or many processes: the everyday run skips it

README = Path(__file__).resolve().parents[1] / "README.md"

# Lines that cannot run offline, by how they start (after comments are dropped and `a | b` alternatives are split).
SKIPPED: dict[str, str] = {
    "python3 -m venv": "installs the package",
    "podium feedback <request-id>": "a placeholder request id",
    "podium router train": "trains and stores a router (feedback in the ledger, or the user's own file)",
    "podium router use": "switches the router in use (a placeholder version)",
    "podium router rollback": "switches the router in use",
    "podium models import": "needs the user's LiteLLM price file",
    'podium ask "What is Python?" --model openai:': "needs OPENAI_API_KEY",
    "echo ": "a shell pipe into a local ollama server",
    'podium ask "..."': "a placeholder prompt for a live model (needs a key)",
    "podium serve": "a long-running server (the gateway tests cover it)",
    "curl ": "calls a running gateway",
    "podium testgen": "calls live models (needs keys)",
    "podium project run": "calls live models (needs keys)",
    "podium project resume <id>": "a placeholder project id",
    "podium project show <id>": "a placeholder project id",
    "export ": "sets a provider or gateway key in the shell",
    "docker compose": "starts the production setup's containers",
    "-H ": "the continuation of a curl call to a running gateway",
    "python benchmarks/": "a benchmark: minutes of load, measured on a quiet machine, not a test",
}
# Exit codes other than 0 the README itself promises.
EXIT_CODES: dict[str, set[int]] = {"podium policy explain": {0, 1}}  # "exits 1 when denied"


def _readme_file(name: str) -> str:
    """The README's example file ``name``: the ```yaml block whose first line is ``# name``."""
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"^```yaml\n# {re.escape(name)}\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert found, f"README.md shows no example {name} (a ```yaml block starting with `# {name}`)"
    return found.group(1)


@dataclass(frozen=True)
class Command:
    line_no: int
    text: str


def _bash_lines() -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    out: list[tuple[int, str]] = []
    for block in re.finditer(r"^```bash\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        first = text.count("\n", 0, block.start(1)) + 1
        out += [(first + i, line) for i, line in enumerate(block.group(1).splitlines())]
    return out


def _commands() -> list[Command]:
    """Each command of the README's bash blocks: comments dropped, `[--opt]` tried without and with, and
    `podium costs stats | export ... | forecast ...` split into `podium costs stats`, `podium costs export ...`..."""
    found: list[Command] = []
    for line_no, raw in _bash_lines():
        line = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("podium "):
            found.append(Command(line_no, line))
            continue
        parts = [p.strip() for p in line.split(" | ")]
        words = parts[0].split()
        group = " ".join(words[:2]) if len(words) > 2 else words[0]  # `podium costs`, `podium project`...
        variants = [parts[0]] + [f"{group} {alt}" for alt in parts[1:]]
        for variant in variants:
            optional = re.search(r"\s*\[([^\]]+)\]", variant)
            if optional:
                found.append(Command(line_no, (variant[: optional.start()] + variant[optional.end():]).strip()))
                found.append(Command(line_no, variant.replace(optional.group(0), " " + optional.group(1)).strip()))
            else:
                found.append(Command(line_no, variant))
    return found


def _skip_reason(command: str) -> str | None:
    return next((why for start, why in SKIPPED.items() if command.startswith(start)), None)


COMMANDS = _commands()


def test_the_readme_shows_the_policies_file_its_commands_read() -> None:
    text = _readme_file("policies.yaml")
    assert "denied_providers" in text and "team:" in text


def test_the_readme_has_commands_to_check() -> None:
    runnable = [c for c in COMMANDS if _skip_reason(c.text) is None]
    assert len(runnable) >= 10, [c.text for c in COMMANDS]


def test_every_runnable_readme_command_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / ".podium"))
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "policies.yaml").write_text(_readme_file("policies.yaml"))  # the example the README shows
    runner = CliRunner()
    # a recorded call first, so the ledger the `logs` and `costs` lines read exists wherever they appear
    warm = runner.invoke(app, ["ask", "Write a function to filter odd numbers.", "--replay"])
    assert warm.exit_code == 0, warm.output
    failures: list[str] = []
    ran = 0
    for command in COMMANDS:
        if _skip_reason(command.text) is not None:
            continue
        args = shlex.split(command.text)
        if args[0] != "podium":
            failures.append(f"README.md:{command.line_no}: `{command.text}` is neither run nor listed in SKIPPED")
            continue
        if args[1:2] == ["init"] and (tmp_path / "podium.yaml").exists():
            (tmp_path / "podium.yaml").unlink()  # init refuses to overwrite; the README runs it in a fresh folder
        result = runner.invoke(app, args[1:])
        ran += 1
        expected = next((codes for start, codes in EXIT_CODES.items() if command.text.startswith(start)), {0})
        if result.exit_code not in expected:
            tail = (result.output or repr(result.exception)).strip().splitlines()[-3:]
            failures.append(f"README.md:{command.line_no}: `{command.text}` exited {result.exit_code}: {tail}")
    assert ran >= 10
    assert not failures, "\n".join(failures)
