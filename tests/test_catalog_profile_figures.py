"""Quality profiles as users see them in `podium models show`: a task figure nobody gave is marked as an estimate
derived from the overall figure (from an imported profiles file, a config override or a new model's entry), an
estimate that moves with a new overall figure is described by it, and every shipped figure cites a public source."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.catalog.catalog import USER_OVERRIDE_SOURCE
from podium.cli.models import app
from podium.core.model_spec import PROFILE_CATEGORIES

runner = CliRunner()
NANO = "openai:gpt-4.1-nano"
# An absolute POSIX path (not the path part of a URL or of "host/repo path"), a home-relative one, a drive letter.
LOCAL_PATH = re.compile(r"(?<![\w.:/-])/(?:[\w.-]+/)+[\w.-]+|~/|\b[A-Za-z]:\\")


def _show(name: str) -> dict[str, dict[str, object]]:
    result = runner.invoke(app, ["show", name, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["quality"]


def test_task_figures_an_import_leaves_out_are_estimates_from_the_overall_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / "home"))
    prof = tmp_path / "prof.json"
    prof.write_text(json.dumps({"profiles": {NANO: {
        "overall": {"score": 1290, "source": "our eval suite", "as_of": "2026-11-01"},
        "code": {"score": 1310, "source": "our code suite", "as_of": "2026-11-02"},
    }}}))
    result = runner.invoke(app, ["import", str(prof), "--profiles"])
    assert result.exit_code == 0, result.output
    quality = _show(NANO)
    assert quality["code"] == {"score": 1310.0, "source": "our code suite", "as_of": "2026-11-02", "estimate": False}
    for category in ("math", "reasoning", "knowledge", "writing"):
        figure = quality[category]
        assert (figure["score"], figure["estimate"], figure["as_of"]) == (1290.0, True, "2026-11-01"), category
        assert figure["source"] == "our eval suite"
        assert figure["note"] == f"no {category} figure given; the overall figure is used"
    table = runner.invoke(app, ["show", NANO]).stdout
    assert re.search(r"math\s+│\s+1290\.0\s+│\s+yes", table), table


def test_an_overall_override_redescribes_the_estimates_that_move_with_it() -> None:
    before = Catalog.bundled().get(NANO).quality
    assert before is not None and before.figure("code").estimate and "= 1322" in before.figure("code").source
    spec = Catalog.bundled().with_overrides([{"id": NANO, "quality": {"overall": 1290}}]).get(NANO)
    assert spec.quality is not None
    for category in ("code", "math"):
        figure = spec.quality.figure(category)
        assert figure.score == 1290 and figure.estimate
        assert figure.source == USER_OVERRIDE_SOURCE and "1322" not in figure.source
        assert figure.note == f"no {category} figure given; the overall figure is used"
    measured = spec.quality.figure("reasoning")  # a figure of its own does not move with the overall one
    assert measured == before.figure("reasoning")


def test_an_estimate_offset_from_the_overall_figure_keeps_its_offset_and_says_so() -> None:
    sibling = {"score": 1230, "source": "sibling model's code figure", "as_of": "2026-10-01", "estimate": True,
               "note": "estimate from a sibling model"}
    base = Catalog.bundled().with_overrides([{
        "id": "openai:house-model", "input_per_million": "1", "output_per_million": "2",
        "quality": {"overall": {"score": 1250, "source": "our eval suite", "as_of": "2026-10-01"}, "code": sibling},
    }])
    spec = base.with_overrides([{"id": "openai:house-model", "quality": {"overall": 1200}}]).get("openai:house-model")
    assert spec.quality is not None
    code = spec.quality.figure("code")
    assert (code.score, code.estimate, code.source) == (1180, True, USER_OVERRIDE_SOURCE)
    assert code.note == "an estimate -20.0 from the overall figure, as before (estimate from a sibling model)"


def test_a_new_models_profile_from_config_marks_its_missing_task_figures() -> None:
    spec = Catalog.bundled().with_overrides(
        [{"id": "openai:house-model", "input_per_million": "1", "output_per_million": "2",
          "quality": {"overall": {"score": 1250, "source": "our eval suite", "as_of": "2026-10-01"}}}]
    ).get("openai:house-model")
    assert spec.quality is not None
    assert all(spec.quality.figure(c).estimate and spec.quality.figure(c).score == 1250 for c in PROFILE_CATEGORIES)


def test_no_shipped_source_names_a_local_path() -> None:
    texts = []
    doc = json.loads(resources.files("podium.catalog").joinpath("quality_profiles.json").read_text(encoding="utf-8"))
    texts.append(doc["description"])
    for profile in doc["profiles"].values():
        for figure in profile.values():
            assert figure["source"] and figure["as_of"], figure  # every figure keeps a source and a date
            texts += [figure["source"], figure.get("note", "")]
    for spec in Catalog.bundled():
        texts.append(spec.price_source)
        texts += [f.source + " " + f.note for _key, f in (spec.quality.items() if spec.quality else [])]
    local = [t for t in texts if LOCAL_PATH.search(t)]
    assert not local, local[:3]
    assert LOCAL_PATH.search("from /srv/data/ref/board.csv (public)")  # the check itself finds one
    assert not LOCAL_PATH.search("github.com/lmarena/arena-hard-auto leaderboard/arena_hard_leaderboard_20240731.csv")
