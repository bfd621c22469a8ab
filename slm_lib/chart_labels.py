"""Where to put point labels on a scatter chart so they do not sit on top of each other (pure, no plotting).

Plotly draws a text label at a fixed spot around its point (``textposition``); with several points close
together the labels overlap and become unreadable. :func:`label_positions` picks a spot per point, greedily,
estimating each label's box from its length; :func:`label_overlaps` counts what overlaps, for tests.

Example:
    >>> label_positions([1, 1.01, 5], [0.5, 0.5, 0.9], ["a model", "another", "far away"])
    ['top center', 'bottom center', 'top center']
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["label_overlaps", "label_positions"]

# Where a point's label may go, tried in this order, as (plotly textposition, dx, dy) in label-box units.
_SPOTS = (
    ("top center", 0.0, 0.6),
    ("bottom center", 0.0, -0.6),
    ("middle right", 0.55, 0.0),
    ("middle left", -0.55, 0.0),
    ("top right", 0.55, 0.6),
    ("bottom right", 0.55, -0.6),
    ("top left", -0.55, 0.6),
    ("bottom left", -0.55, -0.6),
)


_Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels, y up


def _pixels(xs: Sequence[float], ys: Sequence[float], log_x: bool, log_y: bool, size: tuple[float, float]):  # noqa: ANN202
    def scaled(values: Sequence[float], log: bool) -> list[float]:
        vals = [math.log10(v) if log and v > 0 else float(v) for v in values]
        lo, hi = min(vals, default=0.0), max(vals, default=1.0)
        span = (hi - lo) or 1.0
        return [(v - lo) / span for v in vals]

    return [v * size[0] for v in scaled(xs, log_x)], [v * size[1] for v in scaled(ys, log_y)]


def _label_box(x: float, y: float, text: str, spot: str) -> _Box:
    """Where plotly draws ``text`` for a point at (x, y) px: about 7 px per character, 16 px high."""
    w, h = 7.0 * len(text) + 4, 16.0
    dx, dy = {name: (dx, dy) for name, dx, dy in _SPOTS}[spot]
    cx, cy = x + dx * (w + 10), y + dy * (h + 10)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _overlap(a: _Box, b: _Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def label_positions(
    xs: Sequence[float],
    ys: Sequence[float],
    texts: Sequence[str],
    log_x: bool = False,
    log_y: bool = False,
    size: tuple[float, float] = (700, 380),
) -> list[str]:
    """A plotly ``textposition`` per point so that point labels overlap each other and the points as little
    as possible (greedy, in x order; each label takes the first spot with the least overlap).

    Label boxes are estimated at 7 px per character and 16 px high on a plot of ``size`` pixels.

    """
    if not len(xs) == len(ys) == len(texts):
        raise ValueError(f"{len(xs)} xs, {len(ys)} ys and {len(texts)} texts must match")
    px_x, px_y = _pixels(xs, ys, log_x, log_y, size)
    dots = [(x - 5, y - 5, x + 5, y + 5) for x, y in zip(px_x, px_y, strict=True)]
    placed: list[_Box] = []
    out = [""] * len(xs)
    for i in sorted(range(len(xs)), key=lambda i: (px_x[i], px_y[i])):
        best: tuple[float, str, _Box] | None = None
        for spot, _, _ in _SPOTS:
            box = _label_box(px_x[i], px_y[i], texts[i], spot)
            cost = sum(_overlap(box, b) for b in placed) + sum(_overlap(box, d) for d in dots)
            if best is None or cost < best[0]:
                best = (cost, spot, box)
            if cost == 0:
                break
        assert best is not None
        out[i] = best[1]
        placed.append(best[2])
    return out


def label_overlaps(
    xs: Sequence[float],
    ys: Sequence[float],
    texts: Sequence[str],
    positions: Sequence[str],
    log_x: bool = False,
    log_y: bool = False,
    size: tuple[float, float] = (700, 380),
) -> int:
    """How many pairs of labels overlap when placed at ``positions`` (the check behind :func:`label_positions`)."""
    px_x, px_y = _pixels(xs, ys, log_x, log_y, size)
    boxes = [_label_box(x, y, t, p) for x, y, t, p in zip(px_x, px_y, texts, positions, strict=True)]
    return sum(_overlap(a, b) > 0 for i, a in enumerate(boxes) for b in boxes[i + 1 :])
