"""Checks shared by command-line flags, run before any config is read or anything is called."""

from __future__ import annotations

from podium.core.errors import ValidationError


def reject_blank(flag: str, value: str | None, *, field: str, valid: str, hint: str) -> None:
    """A flag given as ``""`` (or only spaces) is a mistake, not a request for the default: one line naming it."""
    if value is not None and not value.strip():
        raise ValidationError(f"{flag} {value!r} is empty; {hint}", field=field, value=value, valid=valid)
