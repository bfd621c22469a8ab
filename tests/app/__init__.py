"""AppTests. ``AppTest.from_file`` resolves relative paths against the calling test file, so use HOME."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = str(ROOT / "Home.py")


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
