"""Quality profiles built from the figures someone gave: an imported profiles file, a config entry, an override.

A task category given no figure of its own is rated at the overall figure, marked as an estimate and saying so;
when an override moves the overall figure, the estimates that follow it are described by the new figure (its source
and date), not by the text of the figure they were derived from before.
"""

from __future__ import annotations

from collections.abc import Mapping

from podium.core.model_spec import PROFILE_CATEGORIES, QualityFigure, QualityProfile

# Closer to the overall figure than this, an estimate is the overall figure itself (figures carry one decimal).
_SAME = 0.05


def derived_figure(category: str, overall: QualityFigure) -> QualityFigure:
    """The estimate of a category that has no figure of its own: the overall figure, marked and explained."""
    return QualityFigure(overall.score, overall.source, overall.as_of, estimate=True,
                         note=f"no {category} figure given; the overall figure is used")


def profile_from_figures(figures: Mapping[str, QualityFigure]) -> QualityProfile:
    """A whole profile from ``figures`` (which hold ``overall``): each category not given is derived from it."""
    overall = figures["overall"]
    return QualityProfile(overall, tuple((c, figures.get(c) or derived_figure(c, overall)) for c in PROFILE_CATEGORIES))


def overridden_profile(base: QualityProfile, figures: Mapping[str, QualityFigure]) -> QualityProfile:
    """``base`` with ``figures`` replacing its own. A new overall figure moves the estimates of ``base`` by as much,
    and they then cite the new overall figure; figures measured on their own stay as they are."""
    overall = figures.get("overall", base.overall)
    own = dict(base.categories)
    out: list[tuple[str, QualityFigure]] = []
    for category in PROFILE_CATEGORIES:
        given, before = figures.get(category), own.get(category)
        if given is not None:
            out.append((category, given))
        elif before is None:
            out.append((category, derived_figure(category, overall)))
        elif before.estimate and "overall" in figures:
            out.append((category, _moved(category, before, base.overall, overall)))
        else:
            out.append((category, before))
    return QualityProfile(overall, tuple(out))


def _moved(category: str, estimate: QualityFigure, old: QualityFigure, new: QualityFigure) -> QualityFigure:
    offset = estimate.score - old.score
    if abs(offset) < _SAME:
        return derived_figure(category, new)
    why = f" ({estimate.note})" if estimate.note else ""
    return QualityFigure(round(new.score + offset, 1), new.source, new.as_of, estimate=True,
                         note=f"an estimate {offset:+.1f} from the overall figure, as before{why}")
