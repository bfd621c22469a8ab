"""AppTests. ``AppTest.from_file`` resolves relative paths against the calling test file, so use HOME."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = str(ROOT / "Home.py")
