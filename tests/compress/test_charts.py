"""Lab figures from plain arrays: the right traces, grid segments per level, zeros left out after pruning."""

from __future__ import annotations

import numpy as np

from slm_lib.compress.charts import (
    char_label,
    histogram_figure,
    loss_chart,
    mask_figure,
    row_figure,
    scheme_figure,
    soft_target_chart,
    sweep_figure,
)
from slm_lib.compress.prune import SweepPoint


def test_histogram_leaves_exact_zeros_out_of_the_after_trace():
    fig = histogram_figure(np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[1.0, 0.0], [0.0, 3.0]]))
    assert [t.name for t in fig.data] == ["before", "after (nonzero only)"]
    assert len(fig.data[0].x) == 4 and list(fig.data[1].x) == [1.0, 3.0]


def test_mask_and_sweep_figures_show_their_data():
    assert mask_figure(np.array([[True, False]])).data[0].z.tolist() == [[1, 0]]
    fig = sweep_figure([SweepPoint(0.0, 0.6, 3.0), SweepPoint(0.5, 0.5, 4.0)], "global", 0.6)
    assert list(fig.data[0].x) == [0.0, 0.5] and list(fig.data[0].y) == [0.6, 0.5]


def test_row_figure_draws_one_segment_per_level_per_group_and_errors_in_steps():
    original, quantized, steps = np.array([0.1, 0.4, -0.2]), np.array([0.0, 0.5, -0.25]), np.array([0.25, 0.25, 0.5])
    fig, err = row_figure(original, quantized, steps, [(0, 2, (-0.25, 0.0, 0.25)), (2, 3, (-0.5, 0.0))])
    grid = fig.data[0]
    assert grid.name == "grid" and len(grid.x) == 3 * (3 + 2)  # (start, end, None) per level per group
    assert np.allclose(err.data[0].x, [-0.4, 0.4, -0.1])
    assert [t.name for t in row_figure(original, quantized, steps)[0].data] == ["original", "quantized"]


def test_scheme_loss_and_soft_target_charts():
    assert list(scheme_figure(["fp32", "int4"], [4096, 512], [0.6, 0.58]).data[0].x) == [4.0, 0.5]
    fig = loss_chart({"distilled": [2.0, 1.5], "hard labels": [2.0, 1.7]}, [(2, 1.6, 1.8)], total_steps=2)
    assert len(fig.data) == 4 and list(fig.data[2].y) == [1.6]
    bars = soft_target_chart(["a", " "], [1.0, 4.0], [[0.9, 0.1], [0.6, 0.4]])
    assert list(bars.data[0].x) == ["a", char_label(" ")] == ["a", "␣ (space)"]
