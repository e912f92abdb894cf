"""`--db` / ledger.url as a user types them: a plain path is a SQLite file, a bad value is shown exactly as given
(password hidden) with the accepted forms, and an unreachable database is one line saying what to check."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.core.errors import ConfigError
from podium.ledger.database import create_ledger_engine, normalize_url, shown_url

runner = CliRunner()
ACCEPTED = "use a file path (e.g. ~/.podium/ledger.db), sqlite:///path/to/ledger.db or postgresql://user@host/db"


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_missing_ledger_file_is_one_line_not_an_empty_report(tmp_path: Path) -> None:
    db = tmp_path / "nope" / "deeper" / "ledger.db"
    result = runner.invoke(app, ["costs", "stats", "--db", str(db)])
    assert result.exit_code != 0
    assert str(db) in result.output and not db.exists()


def test_plain_paths_normalize_to_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert normalize_url("ledger.db") == f"sqlite:///{tmp_path / 'ledger.db'}"
    assert normalize_url("~/x/l.db") == f"sqlite:///{Path.home() / 'x' / 'l.db'}"
    assert normalize_url(":memory:") == "sqlite://"
    assert normalize_url("sqlite:////abs/l.db") == "sqlite:////abs/l.db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def test_an_unsupported_url_is_shown_as_typed_with_the_password_hidden() -> None:
    result = runner.invoke(app, ["costs", "stats", "--db", "mysql://root:hunter22@db/ledger"])
    assert result.exit_code == 2
    assert result.stderr == f"error: --db 'mysql://root:***@db/ledger' is not supported; {ACCEPTED}\n"


def test_a_malformed_url_is_named_as_given() -> None:
    result = runner.invoke(app, ["logs", "--db", "sqlite:/tmp/x.db"])
    assert result.exit_code == 2
    assert result.stderr == f"error: --db 'sqlite:/tmp/x.db' is not a valid database URL; {ACCEPTED}\n"


def test_the_config_key_is_named_when_the_url_comes_from_the_config() -> None:
    with pytest.raises(ConfigError) as info:
        create_ledger_engine("redis://u:pw@h/0")
    assert str(info.value) == f"ledger.url 'redis://u:***@h/0' is not supported; {ACCEPTED}"
    assert shown_url("postgresql://me:s3cret@db:5432/x") == "postgresql://me:***@db:5432/x"


def test_an_unreachable_postgres_is_one_line_without_the_password() -> None:
    port = _closed_port()
    result = runner.invoke(app, ["costs", "stats", "--db", f"postgresql://u:sekrit@127.0.0.1:{port}/x"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot connect to the ledger database postgresql://u:***@127.0.0.1:{port}/x: ")
    assert result.stderr.endswith(
        "; check that the server is running and the URL's host, port, user, password and database name "
        "(ledger.url or --db)\n"
    )
    assert "sekrit" not in result.stderr and "sqlalche.me" not in result.stderr and result.stderr.count("\n") == 1


def test_a_folder_given_as_the_sqlite_file_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["costs", "stats", "--db", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot open the ledger database {tmp_path}: unable to open database file; check that it is a file "
        "(not a folder) you may write, or pass another with --db / ledger.url\n"
    )


def test_a_file_in_the_way_of_the_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    result = runner.invoke(app, ["costs", "stats", "--db", str(blocker / "ledger.db")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot create the folder of the ledger database {blocker / 'ledger.db'}: ")
    assert result.stderr.endswith("; pass another path with --db / ledger.url\n")


def test_an_at_sign_in_the_password_is_refused_without_showing_any_of_it() -> None:
    from podium.core.errors import ConfigError
    from podium.ledger.database import create_ledger_engine, shown_url

    with pytest.raises(ConfigError) as err:
        create_ledger_engine("postgresql://user:pa@ss@127.0.0.1:1/db")
    assert "%40" in str(err.value) and "'postgresql://user:***@127.0.0.1:1/db'" in str(err.value)
    assert "pa@" not in str(err.value) and "ss@" not in str(err.value)
    assert shown_url("postgresql://h/db?sslmode=require&password=topsecret") == (
        "postgresql://h/db?sslmode=require&password=***"
    )
