"""Bounded label cardinality: every Prometheus series costs memory, so unbounded label values are folded."""

from __future__ import annotations

import threading

from podium.core.errors import ValidationError

OTHER = "other"
UNKNOWN = "unknown"


class LabelGuard:
    """Maps label values to themselves until ``max_values`` distinct ones were seen per label, then to ``other``.

    Model ids come from user input (``--model``, the gateway's ``model`` field), so without a bound a typo-heavy
    client could create a new series per request.
    """

    def __init__(self, max_values: int = 100) -> None:
        if max_values < 1:
            raise ValidationError(
                f"max_values {max_values} is not valid; use a whole number of at least 1",
                field="max_label_values",
                value=max_values,
            )
        self.max_values = max_values
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self.folded = 0  # how many values were mapped to "other"

    def __call__(self, label: str, value: object) -> str:
        text = UNKNOWN if value is None or value == "" else str(value)
        with self._lock:
            seen = self._seen.setdefault(label, set())
            if text in seen:
                return text
            if len(seen) < self.max_values:
                seen.add(text)
                return text
            self.folded += 1
            return OTHER

    def labels(self, **values: object) -> dict[str, str]:
        """Guard several labels at once."""
        return {name: self(name, value) for name, value in values.items()}
