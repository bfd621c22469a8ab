"""AppTests. ``AppTest.from_file`` resolves relative paths against the calling test file, so use HOME."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = str(ROOT / "Home.py")


def scatter_labels_apart(at, title: str) -> bool:  # noqa: ANN001 - an AppTest
    """The scatter chart titled ``title`` places one label per point and no two labels overlap."""
    import base64
    import json

    import numpy as np

    from slm_lib.chart_labels import label_overlaps

    def values(data):  # noqa: ANN001, ANN202 - plotly sends numeric arrays as {"dtype", "bdata"} (base64)
        if isinstance(data, dict):
            return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
        return list(data)

    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if title in c.proto.spec)
    trace = spec["data"][0]
    xs, ys, spots = values(trace["x"]), values(trace["y"]), trace["textposition"]
    assert isinstance(spots, list) and len(spots) == len(xs) >= 2, spots
    return label_overlaps(xs, ys, values(trace["text"]), spots) == 0


def settle(at, timeout: float = 60.0):
    """Run ``at`` until no background check is pending (pages show "Still checking…" meanwhile)."""
    import time

    from app_ui.loaders import get_checks

    at.run()
    deadline = time.monotonic() + timeout
    while any("Still checking" in str(i.value) for i in at.info):
        assert get_checks().wait(max(0.0, deadline - time.monotonic())), "a background check did not finish"
        at.run()
    return at


def unescaped(markdown: str) -> str:
    """Markdown from ``slm_lib.safe_text`` as it reads on the page (backslash escapes removed)."""
    import re

    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)
