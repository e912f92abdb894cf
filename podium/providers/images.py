"""Image parts as the wire formats want them: a data URL split into media type and base64, or a plain URL."""

from __future__ import annotations

import mimetypes
import re

from podium.core.errors import ValidationError
from podium.core.types import ImagePart

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w=.-]+)*;base64,(?P<data>.*)$", re.DOTALL)


def split_data_url(part: ImagePart) -> tuple[str, str] | None:
    """``(media_type, base64_data)`` for a data URL, or None for an ordinary URL."""
    if not part.url.startswith("data:"):
        return None
    m = _DATA_URL.match(part.url)
    if m is None:
        raise ValidationError(
            "image data URL is not valid; use data:<media type>;base64,<data>",
            field="image.url",
            value=part.url[:40] + "...",
        )
    return (part.media_type or m.group("mime") or "image/png"), m.group("data")


def guess_media_type(part: ImagePart) -> str:
    """The image's media type from the part, else from the URL's extension, else image/jpeg."""
    if part.media_type:
        return part.media_type
    guessed, _ = mimetypes.guess_type(part.url.split("?", 1)[0])
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"
