"""Correctness cells of a recorded-answer CSV: 0..1, true/false or empty; a judge's 1-10 score is refused with how
to convert it."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.core.errors import ValidationError
from podium.providers.recorded_data import read_recorded

HEADER = "prompt,gpt-4-1106-preview,gpt-4-1106-preview_response\n"


def test_fractional_scores_are_read_as_given(tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    path.write_text(HEADER + '"Write a haiku about rain.",0.8,"Rain on the roof"\n')
    (record,) = read_recorded(path)
    assert [o.correct for o in record.outcomes.values()] == [0.8]


def test_a_judge_score_out_of_ten_names_the_cell_and_the_conversion(tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    path.write_text(HEADER + '"Write a haiku about rain.",8,"Rain on the roof"\n')
    with pytest.raises(ValidationError, match=r"row 2.*'8'.*0\.\.1.*divide them by 10"):
        read_recorded(path)
    path.write_text(HEADER + '"Write a haiku about rain.",42,"Rain on the roof"\n')
    with pytest.raises(ValidationError) as err:
        read_recorded(path)
    assert "divide" not in str(err.value)
