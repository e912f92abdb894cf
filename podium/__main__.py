"""``python -m podium ...`` runs the CLI, the same as the ``podium`` command."""

from podium.cli.main import run

if __name__ == "__main__":
    run()
