"""Write ``assets/corpus.txt``: the text of Python's own documentation topics (``pydoc_data.topics``).

Run once with ``python -m slm_lib.tiny.make_corpus``; the file is shipped, so the corpus does not change when the
Python version does. The topics are joined in sorted key order, separated by blank lines.
Source and license (PSF License Agreement) are recorded in ``assets/SOURCES.md``.
"""

from __future__ import annotations

import sys

from slm_lib.tiny.corpus import CORPUS_PATH

__all__ = ["build_corpus_text", "main"]


def build_corpus_text() -> str:
    """The documentation topics of the running Python, joined in sorted key order."""
    import pydoc_data.topics as topics

    return "\n\n".join(topics.topics[key].strip() for key in sorted(topics.topics)) + "\n"


def main() -> None:
    text = build_corpus_text()
    CORPUS_PATH.write_text(text, encoding="utf-8")
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"wrote {CORPUS_PATH.name}: {len(text):,} characters, {len(set(text))} distinct, Python {version}")


if __name__ == "__main__":
    main()
