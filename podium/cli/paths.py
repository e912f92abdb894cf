"""Output files named on the command line (``--plot``, ``--out``): checked before any work starts."""

from __future__ import annotations

from pathlib import Path

from podium.core.errors import ValidationError


def writable_file(path: Path, option: str) -> Path:
    """``path`` once it is known a file can be written there; missing parent folders are created.

    A bad path (a folder of that name, a parent that is a file, no permission) is one line naming ``option``, so a
    long command fails at once rather than after its work is done.
    """
    target = path.expanduser()

    def bad(reason: str) -> ValidationError:
        return ValidationError(f"{option} {path}: {reason}", field=option.lstrip("-"), value=str(path))

    if target.is_dir():
        raise bad("is a folder; give a file path such as " + str(target / "plot.png"))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in target.parents if p.exists() and not p.is_dir()), target.parent)
        raise bad(f"{blocker} is a file, not a folder") from None
    except OSError as exc:
        raise bad(f"cannot create its folder ({exc.strerror or exc})") from None
    existed = target.exists()
    try:
        with target.open("ab"):
            pass
    except OSError as exc:
        raise bad(f"cannot be written ({exc.strerror or exc})") from None
    if not existed:
        target.unlink()  # only probed: the command writes it when its work is done
    return target
