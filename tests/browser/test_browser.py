"""The real app in headless Chromium: every page loads with no exception box.

Starts ``streamlit run Home.py`` on a free loopback port, with ``OLLAMA_HOST``
pointing at the loopback fake Ollama server, and drives Debian's Chromium through
Python Playwright. Screenshots go to a temp dir (or ``SLM_SCREENSHOT_DIR``).
Skipped when Chromium is missing, unless ``CI`` is set: then it must run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from app_ui import PAGES

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI is set but Chromium is missing: install Debian's `chromium` (.ci/run does).")
    pytestmark = [pytestmark, pytest.mark.skip(reason="Chromium not installed (apt-get install chromium)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Terminate a server; kill it if it is too busy to exit in time."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _wait_http(url: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def fake_ollama_url():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_ollama", "--port", str(port)])
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/version", 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def app_url(fake_ollama_url):
    port = _free_port()
    env = {**os.environ, "OLLAMA_HOST": fake_ollama_url, "HF_HUB_OFFLINE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "Home.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    path = Path(os.environ.get("SLM_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="slm-shots-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def wait_until_idle(page, timeout_ms: int = 240_000) -> None:
    """Streamlit marks a finished script run on the app root."""
    page.wait_for_selector("[data-testid='stApp'] h1", timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # let the last deltas paint before asserting or taking a screenshot


def url_path(spec) -> str:
    return "" if spec.default else Path(spec.path).stem


@pytest.mark.parametrize("spec", PAGES, ids=[p.path for p in PAGES])
def test_page_loads_without_exception(browser, app_url, shots, spec):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/{url_path(spec)}")
        wait_until_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator("h1").first.inner_text().strip()
        page.screenshot(path=str(shots / f"{Path(spec.path).stem}.png"), full_page=True)
    finally:
        page.close()


def test_playground_full_comparison_with_reference(browser, app_url, shots):
    """Two models from the loopback Ollama server plus the on-board SmolLM2, scored against a reference."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/playground")
        wait_until_idle(page)
        box = page.locator(".st-key-playground-models")
        for name in ["llama3.2:1b (Ollama)", "qwen2:1.5b (Ollama)", "smollm2-135m (on board)"]:
            box.locator("input").fill(name.split(" ")[0])
            page.get_by_role("option", name=name).click()
        page.keyboard.press("Escape")
        page.locator(".st-key-playground-reference textarea").fill(
            "By the Pythagorean theorem, the hypotenuse c is the square root of a squared plus b squared."
        )
        page.locator(".st-key-playground-reference textarea").blur()
        page.get_by_role("button", name="Compare").click()
        page.wait_for_timeout(1000)
        wait_until_idle(page, timeout_ms=300_000)
        page.screenshot(path=str(shots / "playground_comparison.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        expect(page.get_by_text("Similarity to reference", exact=True)).to_have_count(3)
        expect(page.get_by_text("tokens/s", exact=False).first).to_be_visible()
        expect(page.get_by_text("Pythagorean", exact=False).first).to_be_visible()
    finally:
        page.close()


def test_evaluation_run_fills_the_leaderboard(browser, app_url, shots):
    """A short unattended run (two loopback-Ollama models, one category) ends in a leaderboard."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/evaluation")
        wait_until_idle(page)
        expect(page.get_by_text("Still checking").first).to_have_count(0, timeout=180_000)  # Ollama's models listed
        wait_until_idle(page)
        _pick(page, "eval-models", ["llama3.2:1b (Ollama)", "qwen2:1.5b (Ollama)"])  # labelled as in the playground
        wait_until_idle(page)
        _pick(page, "eval-categories", ["Translation"])
        wait_until_idle(page)
        page.locator(".st-key-eval-start button").click()
        expect(page.get_by_text("Mean similarity by category").first).to_be_visible(timeout=240_000)
        wait_until_idle(page)
        page.screenshot(path=str(shots / "evaluation_run.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        board = page.locator("[data-testid='stDataFrame']").first
        expect(board).to_be_visible()
    finally:
        page.close()


# ---- issue 11: hostile names, answers and errors, rendered by the real browser, fetch nothing ----


class _Attacker:
    """A loopback HTTP server standing in for an attacker: it records every request it gets."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def attacker():
    server = _Attacker()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def hostile_ollama(attacker):
    """A fake Ollama whose model names, answers and error bodies carry the attacker's URLs."""
    from tests.fake_ollama import running

    with running() as server:
        server.mode, server.attacker = "hostile", attacker.url
        yield server


def _assert_nothing_live(page, attacker) -> None:
    """No request reached the attacker, and the page holds no image or script link pointing anywhere odd."""
    page.wait_for_timeout(1500)  # give any image a chance to load
    assert attacker.requests == [], attacker.requests
    assert page.locator(f"img[src*='{attacker.url[7:]}']").count() == 0
    assert page.locator("a[href^='javascript:' i], a[href^='data:' i], iframe, script[src*='127.0.0.1']").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0


def _pick(page, box_key: str, fragments: list[str]) -> None:
    """Pick the options containing each fragment; a server's models may still be on their way (re-checked
    in the background every 15 s), so try again for up to a minute."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator(f".st-key-{box_key}")
    for fragment in fragments:
        for _ in range(20):
            box.locator("input").fill(fragment)
            try:
                page.get_by_role("option").filter(has_text=fragment).first.click(timeout=3000)
                wait_until_idle(page)  # the pick's rerun ends before the next fill (it redraws the box)
                break
            except PlaywrightTimeout:
                page.keyboard.press("Escape")
                wait_until_idle(page)
        else:
            raise AssertionError(f"no option containing {fragment!r} in {box_key}")
    page.keyboard.press("Escape")


def _go(page, title: str) -> None:
    """Switch page inside the app (a fresh page load would start a new session and lose the host)."""
    page.get_by_role("link", name=title).first.click()
    page.wait_for_timeout(1000)
    wait_until_idle(page)


def test_hostile_names_answers_and_errors_fetch_nothing_from_the_attacker(
    browser, app_url, hostile_ollama, attacker, shots
):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/playground")  # this session's Ollama host: the hostile server
        wait_until_idle(page)
        page.locator(".st-key-playground-host input").fill(hostile_ollama.url)
        page.locator(".st-key-playground-host input").press("Enter")
        expect(page.get_by_text("Installed on Ollama (6)").first).to_be_visible(timeout=180_000)
        wait_until_idle(page)
        _assert_nothing_live(page, attacker)  # names in the sidebar table and as options
        _pick(page, "playground-models", ["img src", "fails"])  # names as column titles, an answer, an error
        page.locator(".st-key-playground-reference textarea").fill("")  # no scoring: only rendering matters here
        page.locator(".st-key-playground-reference textarea").blur()
        page.wait_for_timeout(1500)  # the blur's rerun starts
        wait_until_idle(page)
        page.get_by_role("button", name="Compare").click()
        expect(page.get_by_text("model failed", exact=False).first).to_be_visible(timeout=180_000)
        wait_until_idle(page, timeout_ms=180_000)
        page.screenshot(path=str(shots / "hostile_playground.png"), full_page=True)
        _assert_nothing_live(page, attacker)

        _go(page, "Home")  # the "Models:" line lists the hostile names
        expect(page.get_by_text("Log in again", exact=False).first).to_be_visible(timeout=180_000)
        _assert_nothing_live(page, attacker)

        _go(page, "Evaluation runs")  # a run with hostile names; answers read back from the database
        expect(page.get_by_text("Still checking").first).to_have_count(0, timeout=180_000)
        wait_until_idle(page)
        _pick(page, "eval-models", ["evil", "Log in"])
        wait_until_idle(page)
        _pick(page, "eval-categories", ["Translation"])
        wait_until_idle(page)
        page.locator(".st-key-eval-start button").click()
        expect(page.get_by_text("Mean similarity by category").first).to_be_visible(timeout=240_000)
        wait_until_idle(page)
        # a rerun can briefly leave a hidden stale copy: open the one on screen, once the rerun that follows
        # the run's end has drawn it (slow on a busy machine)
        reader = page.get_by_text("Read the answers to one question").filter(visible=True).first
        try:
            expect(reader).to_be_visible(timeout=180_000)
        except AssertionError:
            page.screenshot(path=str(shots / "hostile_evaluation_no_reader.png"), full_page=True)
            raise
        reader.click()
        wait_until_idle(page)
        page.screenshot(path=str(shots / "hostile_evaluation.png"), full_page=True)
        _assert_nothing_live(page, attacker)

        page.goto(f"{app_url}/gallery?model=%21%5Bx%5D%28{attacker.url}%2Fq.png%29")  # a URL value
        expect(page.get_by_text("in the catalog", exact=False).first).to_be_visible(timeout=120_000)
        _assert_nothing_live(page, attacker)
    finally:
        page.close()


def test_sidebar_lists_the_sections_from_the_first_paint(browser, app_url):
    """No pages/ folder: Streamlit never shows its automatic list of file names, even while a page runs."""
    titles = {p.title for p in PAGES}
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/pruning")
        nav = page.locator("[data-testid='stSidebarNav']")
        nav.wait_for(timeout=60_000)
        links = [t.strip().splitlines()[-1] for t in nav.locator("a").all_inner_texts()]  # after the icon name
        assert links and set(links) <= titles, links
        assert {"Learn", "Compress", "Choose", "Compare"} <= set(nav.inner_text().splitlines())
        wait_until_idle(page)
    finally:
        page.close()


def test_home_cards_have_no_gap_and_status_icons_need_no_emoji_font(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(app_url)
        wait_until_idle(page)
        heights = [box["height"] for box in (h.bounding_box() for h in page.locator("h3").all()[:3]) if box]
        assert len(heights) == 3 and max(heights) < 1.6 * min(heights)  # one line each, no blank line under one
        alerts = page.locator("[data-testid='stAlert']")
        assert alerts.count() >= 1
        icon = alerts.first.locator("[data-testid='stAlertDynamicIcon']").inner_text()
        assert re.fullmatch("[a-z_]+", icon), icon  # a Material ligature ("warning"), not an emoji glyph
        radios = page.locator("[data-testid='stRadio']")
        assert radios.count() >= 3  # the quiz
    finally:
        page.close()


def test_slm_vs_llm_cells_wrap_and_sources_are_links(browser, app_url, shots):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/slm_vs_llm")
        wait_until_idle(page)
        table = page.locator("[data-testid='stMarkdownContainer'] table").first
        overflow = table.evaluate(
            "t => [...t.querySelectorAll('td, th')].filter(c => c.scrollWidth > c.clientWidth + 1).length"
        )
        assert overflow == 0  # every cell shows all of its text
        main = page.locator("[data-testid='stMain']").bounding_box()
        box = table.bounding_box()
        assert box["x"] + box["width"] <= main["x"] + main["width"]  # the LLM column is not clipped at 1400 px
        assert "data-centre GPUs" in table.inner_text()
        page.locator(".st-key-vs-view").get_by_text("Numbers", exact=True).click()
        wait_until_idle(page)
        links = page.locator("[data-testid='stMarkdownContainer'] table a[href^='http']")
        assert links.count() >= 8
        page.screenshot(path=str(shots / "slm_vs_llm_numbers.png"), full_page=True)
    finally:
        page.close()


def test_glossary_term_link_and_hover_help_on_a_lab(browser, app_url):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/glossary?term=kv-cache")
        wait_until_idle(page)
        expect(page.get_by_text("grows with the context length", exact=False).first).to_be_visible()
        page.goto(f"{app_url}/quantization")
        wait_until_idle(page)
        for key in ["bits", "symmetric", "granularity", "group_size"]:  # bits, zero point, scale, group size
            expect(page.locator(f".st-key-quant-{key} [data-testid='stTooltipIcon']")).to_be_visible(timeout=60_000)
    finally:
        page.close()


def test_a_lesson_link_opens_the_pruning_lab_with_its_settings(browser, app_url, shots):
    """The teacher's link reproduces the settings (the run itself is checked, faster, in tests/app)."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/pruning?method=structured&sparsity=0.3&recover=0&steps=banana")
        wait_until_idle(page)
        expect(page.locator(".st-key-prune-sparsity")).to_contain_text("0.30", timeout=60_000)  # painted
        assert page.locator(".st-key-prune-method input").input_value() == "Structured: neurons and heads"
        assert not page.locator(".st-key-prune-recover input").is_checked()
        warning = page.locator("[data-testid='stAlert']").filter(has_text="could not be used").inner_text()
        assert "steps = “banana”" in warning  # a bad value is named, and its default used
        assert "method=structured" in page.url and "sparsity=0.3" in page.url and "banana" not in page.url
        page.screenshot(path=str(shots / "pruning_lesson_link.png"), full_page=True)
    finally:
        page.close()


def test_unreachable_host_error_is_in_plain_sight(browser, app_url):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/playground")
        wait_until_idle(page)
        host = page.locator(".st-key-playground-host input")
        host.fill("127.0.0.1:9")
        page.keyboard.press("Enter")
        wait_until_idle(page)
        warning = page.locator("[data-testid='stSidebar'] [data-testid='stAlert']").filter(has_text="not reachable")
        expect(warning.first).to_be_visible()  # not folded away inside the installed-models box
    finally:
        page.close()
