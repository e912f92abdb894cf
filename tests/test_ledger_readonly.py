"""A ledger the user may only read (file mode 0444 in a read-only folder) is still read by `podium logs` and
`podium costs report`: it is opened read-only, without the write lock or migrations; a file that is not a ledger is
one line naming it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_ledger_support import make_ctx, priced_terminal, sqlite_url
from typer.testing import CliRunner

from podium.core.pipeline import compose
from podium.core.types import Usage
from podium.ledger import Ledger, LedgerMiddleware, LedgerReader

DROP = "-dac_override,-dac_read_search"  # root without these capabilities obeys file modes as any user does


def _as_a_user() -> list[str]:
    """The command prefix that makes file modes count: none for a normal user; root drops its override rights."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file modes cannot be made to count")
    return [setpriv, f"--inh-caps={DROP}", f"--bounding-set={DROP}"]


async def _ledger_with_one_call(folder: Path) -> Path:
    url = sqlite_url(folder)
    ledger = Ledger(url)
    handler = compose([LedgerMiddleware(ledger)], priced_terminal(Usage(input_tokens=1000, output_tokens=500)))
    await handler(make_ctx("ro-call-1"))
    await ledger.flush()
    ledger.close()
    return Path(url.removeprefix("sqlite:///"))


def _podium(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "PODIUM_HOME": str(home / ".podium"), "COLUMNS": "120"}
    env.pop("PODIUM_CONFIG", None)
    return subprocess.run(
        [*_as_a_user(), sys.executable, "-m", "podium", *args],
        capture_output=True, text=True, env=env, cwd=home, timeout=120, check=False,
    )


@pytest.fixture
async def read_only_ledger(tmp_path: Path):
    folder = tmp_path / "ledger"
    folder.mkdir()
    db = await _ledger_with_one_call(folder)
    for extra in folder.glob(db.name + "-*"):
        extra.unlink()  # a closed WAL ledger: only the file itself remains
    db.chmod(0o444)
    folder.chmod(0o555)
    yield db
    folder.chmod(0o755)
    db.chmod(0o644)


def test_logs_and_costs_report_read_a_read_only_ledger(read_only_ledger: Path, tmp_path: Path) -> None:
    logs = _podium(["logs", "--db", str(read_only_ledger)], tmp_path)
    assert logs.returncode == 0, logs.stderr
    assert "ro-call-1" in logs.stdout
    report = _podium(["costs", "report", "--db", str(read_only_ledger)], tmp_path)
    assert report.returncode == 0, report.stderr
    total = next(line for line in report.stdout.splitlines() if "total" in line)
    assert [cell.strip() for cell in total.split("│")][3] == "1"  # period, model, calls: one call


async def test_the_reader_cannot_write_the_ledger(tmp_path: Path) -> None:
    db = await _ledger_with_one_call(tmp_path)
    reader = LedgerReader(f"sqlite:///{db}")
    try:
        assert [r["request_id"] for r in reader.rows()] == ["ro-call-1"]
        with pytest.raises(sa.exc.OperationalError, match="readonly"), reader.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM ledger_calls"))
    finally:
        reader.close()
    assert len(LedgerReader(f"sqlite:///{db}").rows()) == 1


def test_a_file_that_is_not_a_ledger_is_one_line(tmp_path: Path) -> None:
    from podium.cli.main import app

    bad = tmp_path / "notes.db"
    bad.write_text("these are my notes, not a database\n" * 50)
    result = CliRunner().invoke(app, ["logs", "--db", str(bad)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and "cannot read the ledger" in lines[0]
    assert bad.read_text().startswith("these are my notes")
