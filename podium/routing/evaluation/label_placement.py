"""Point labels that never overlap: each label takes the nearest free spot around its point (deterministic).

Candidates are tried ring by ring (near first) in eight directions around the point; a spot is free when the label's
box, in display pixels, meets no label placed before it, no other text or legend, no marker, no plotted line (the
sweeps) and stays inside the axes. A label that had to move away from its point gets a thin leader line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

HAlign = Literal["left", "center", "right"]
VAlign = Literal["bottom", "center", "top"]

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase
    from matplotlib.text import Annotation
    from matplotlib.transforms import Bbox

RINGS_PT: tuple[float, ...] = (6, 12, 20, 30, 42, 56, 72, 90)  # distances from the point, in points
# (dx, dy, horizontal alignment, vertical alignment): right, upper right, up, ... clockwise from the right
DIRECTIONS: tuple[tuple[float, float, HAlign, VAlign], ...] = (
    (1, 0, "left", "center"), (0.7, 0.7, "left", "bottom"), (0, 1, "center", "bottom"), (-0.7, 0.7, "right", "bottom"),
    (-1, 0, "right", "center"), (-0.7, -0.7, "right", "top"), (0, -1, "center", "top"), (0.7, -0.7, "left", "top"),
)
_GAP_PX = 2.0  # labels keep this much air between them
_MARKER_PX = 5.0  # half the side of the box a marker occupies
_LEADER_FROM_PT = 13.0  # labels further than this from their point get a leader line


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _outside(box: Bbox, frame: Bbox) -> float:
    """How far ``box`` sticks out of ``frame``, as an area-like penalty."""
    out = max(0.0, frame.x0 - box.x0) + max(0.0, box.x1 - frame.x1)
    out += max(0.0, frame.y0 - box.y0) + max(0.0, box.y1 - frame.y1)
    return out * max(box.width, box.height)


Segment = tuple[float, float, float, float]  # x0, y0, x1, y1 in display pixels


def _crossing(box: Bbox, seg: Segment) -> float:
    """Length of ``seg`` inside ``box`` (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = seg
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - box.x0), (dx, box.x1 - x0), (-dy, y0 - box.y0), (dy, box.y1 - y0)):
        if p == 0:
            if q < 0:
                return 0.0
            continue
        t = q / p
        if p < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo >= hi:
            return 0.0
    return (hi - lo) * (dx * dx + dy * dy) ** 0.5


def _cost(box: Bbox, taken: Sequence[Bbox], frame: Bbox, lines: Sequence[Segment] = ()) -> float:
    crossed = sum(_crossing(box, seg) for seg in lines)
    return sum(_overlap(box, t) for t in taken) + _outside(box, frame) + crossed * box.height


def _segments(ax: Axes) -> list[Segment]:
    """The plotted data lines (not the reference lines drawn in axes coordinates), as display-pixel segments."""
    out: list[Segment] = []
    for line in ax.get_lines():
        if line.get_transform() != ax.transData:
            continue
        pts = ax.transData.transform(line.get_xydata())
        out += [(float(a[0]), float(a[1]), float(b[0]), float(b[1])) for a, b in zip(pts[:-1], pts[1:], strict=True)]
    return out


def _markers(ax: Axes, anchors: Sequence[tuple[float, float]]) -> list[Bbox]:
    from matplotlib.transforms import Bbox

    boxes = []
    for anchor in anchors:
        x, y = ax.transData.transform(anchor)
        boxes.append(Bbox.from_extents(x - _MARKER_PX, y - _MARKER_PX, x + _MARKER_PX, y + _MARKER_PX))
    return boxes


def _text_box(label: Annotation, renderer: RendererBase) -> Bbox:
    from matplotlib.text import Text

    label.update_positions(renderer)  # an annotation's text moves to its offset only here (or when drawn)
    return Text.get_window_extent(label, renderer).padded(_GAP_PX / 2)  # the text alone, not its leader line


def place_labels(
    ax: Axes,
    anchors: Sequence[tuple[float, float]],
    names: Sequence[str],
    *,
    renderer: RendererBase,
    fontsize: float = 8,
) -> list[Annotation]:
    """Annotate each anchor (data coordinates) with its name where no two labels (or a label and a marker, legend
    or other text) overlap, measured with ``renderer``. Call after the axes' limits and scales are final."""
    frame = ax.get_window_extent(renderer)
    taken = [t.get_window_extent(renderer).padded(_GAP_PX) for t in ax.texts]
    legend = ax.get_legend()
    if legend is not None:
        taken.append(legend.get_window_extent(renderer))
    markers = _markers(ax, anchors)
    lines = _segments(ax)
    labels: list[Annotation] = []
    for i, (anchor, name) in enumerate(zip(anchors, names, strict=True)):
        others = [*taken, *(m for j, m in enumerate(markers) if j != i)]
        probe = ax.annotate(name, anchor, textcoords="offset points", xytext=(0, 0), fontsize=fontsize)
        x, y, ha, va = _free_spot(probe, others, frame, renderer, lines)
        probe.remove()
        leader = {"arrowstyle": "-", "color": "grey", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 3}
        label = ax.annotate(
            name, anchor, textcoords="offset points", xytext=(x, y), fontsize=fontsize, ha=ha, va=va,
            arrowprops=leader if (x * x + y * y) ** 0.5 > _LEADER_FROM_PT else None,
        )
        taken.append(_text_box(label, renderer))
        labels.append(label)
    return labels


def _free_spot(
    probe: Annotation, others: Sequence[Bbox], frame: Bbox, renderer: RendererBase, lines: Sequence[Segment] = ()
) -> tuple[float, float, HAlign, VAlign]:
    """The nearest offset (points) and alignment where ``probe`` meets nothing; else the least crowded one."""
    best: tuple[float, float, float, HAlign, VAlign] | None = None
    for ring in RINGS_PT:
        for dx, dy, ha, va in DIRECTIONS:
            probe.set_position((dx * ring, dy * ring))
            probe.set_horizontalalignment(ha)
            probe.set_verticalalignment(va)
            cost = _cost(_text_box(probe, renderer), others, frame, lines)
            if cost == 0:
                return dx * ring, dy * ring, ha, va
            if best is None or cost < best[0]:
                best = (cost, dx * ring, dy * ring, ha, va)
    assert best is not None
    return best[1:]
