"""Every page renders through the router without an exception."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_ui import PAGES
from tests.app import HOME


@pytest.mark.parametrize("spec", PAGES, ids=[p.path for p in PAGES])
def test_page_renders_without_exception(spec):
    at = AppTest.from_file(HOME, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    at.switch_page(spec.path).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{spec.path} shows no title"


def test_router_registers_every_page_file():
    from pathlib import Path

    files = {f"app_pages/{p.name}" for p in Path("app_pages").glob("*.py")}
    assert files == {p.path for p in PAGES}


def test_no_pages_folder_next_to_the_entrypoint():
    """Streamlit runs its old automatic page list for a ``pages/`` folder beside Home.py until the router's
    navigation arrives, so the sidebar would show raw file names during a long first run."""

    from tests.app import ROOT

    assert not (ROOT / "pages").exists(), "keep page scripts in app_pages/, not pages/"
