"""The course in a real browser: headless Chromium drives the JupyterLab `make lab` starts (token, 127.0.0.1).

Opens a lab, runs its cells, reads the rendered outcome of a check (not attempted), fills one answer and sees
"correct"; opens a walkthrough, runs it and sees a plot render. The lab and the walkthrough are copies in a
git-ignored folder (data/tiny/…), so JupyterLab's autosave never touches labs/ or notebooks/.
Needs the distribution's chromium + chromium-driver (`.ci/run` installs them) and selenium (requirements.txt);
skips with a one-line reason when they are missing. RECSYS_SCREENSHOT=1 (make screenshot) rewrites the README's picture.
"""
from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO
from test_lab import lab  # noqa: F401  (the fixture: JupyterLab started by `make lab SCALE=tiny`)

SCREENSHOT = REPO / "docs" / "img" / "lab_check_in_browser.png"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser_or_skip() -> tuple[str, str]:
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (make venv installs it)")
    binary = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip("no Chromium + chromedriver on this machine (apt-get install chromium chromium-driver)")
    return binary, driver


@pytest.fixture()
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = _browser_or_skip()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,860",
                "--force-device-scale-factor=1"):
        options.add_argument(arg)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture()
def workdir():
    """A folder JupyterLab can open (under its root) that git ignores and no test collects."""
    folder = REPO / "data" / "tiny" / f"browser-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _xpath_text(text: str) -> str:
    return f"//*[contains(@class, 'jp-OutputArea-output')][contains(., {text!r})]"


def _wait(chrome, xpath: str, seconds: float):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(chrome, seconds).until(ec.presence_of_element_located((By.XPATH, xpath)))
    except TimeoutException:
        outputs = [e.text[:200] for e in chrome.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output")]
        raise AssertionError(f"not seen within {seconds:.0f} s: {xpath}\noutputs: {outputs}") from None


def _open(chrome, port: int, token: str, rel: Path) -> None:
    from selenium.webdriver.common.by import By

    chrome.get(f"http://127.0.0.1:{port}/lab/tree/{rel.as_posix()}?token={token}")
    _wait(chrome, "//*[contains(@class, 'jp-Notebook')]//*[contains(@class, 'jp-Cell')]", 120)
    _wait(chrome, "//*[contains(@class, 'jp-StatusBar-Widget')][contains(., 'Idle')]", 120)  # the kernel is up
    time.sleep(2)
    for no in chrome.find_elements(By.XPATH, "//*[contains(@class, 'Toastify')]//button[normalize-space(.)='No']"):
        no.click()  # JupyterLab's "get notified about Jupyter news?" toast


def _menu(chrome, menu: str, item: str) -> None:
    from selenium.webdriver.common.by import By

    chrome.find_element(By.XPATH, f"//li[contains(@class, 'lm-MenuBar-item')][normalize-space(.)={menu!r}]").click()
    _wait(chrome, f"//li[contains(@class, 'lm-Menu-item')][.//div[normalize-space(.)={item!r}]]", 10).click()


def _type_into_cell(chrome, starts_with: str, code: str) -> None:
    """Replace the source of the cell whose text starts with `starts_with`, then run it and the next cell."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    editor = _wait(chrome, f"//div[contains(@class, 'cm-content')][starts-with(normalize-space(.), {starts_with!r})]", 30)
    editor.click()
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(code)
    editor.send_keys(Keys.SHIFT, Keys.ENTER)  # run the answer
    time.sleep(0.5)
    chrome.switch_to.active_element.send_keys(Keys.SHIFT, Keys.ENTER)  # run its check


@pytest.mark.slow
def test_a_lab_and_a_walkthrough_in_headless_chromium(lab, browser, workdir, tmp_path):  # noqa: F811
    port, token = lab
    shutil.copy(REPO / "labs" / "01_data_lab.ipynb", workdir / "01_data_lab.ipynb")
    shutil.copy(REPO / "notebooks" / "01_data_and_etl.ipynb", workdir / "01_data_and_etl.ipynb")
    rel = workdir.relative_to(REPO)

    _open(browser, port, token, rel / "01_data_lab.ipynb")
    _menu(browser, "Run", "Run All Cells")
    _wait(browser, _xpath_text("⬜ Q1 conversion rate — not attempted"), 240)
    _type_into_cell(browser, "conversion_rate = ____", "conversion_rate = rows.target.mean()")
    correct = _wait(browser, _xpath_text("✅ Q1 conversion rate — correct"), 120)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", correct)
    time.sleep(1)
    shot = SCREENSHOT if os.environ.get("RECSYS_SCREENSHOT") == "1" else tmp_path / SCREENSHOT.name
    shot.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

    _open(browser, port, token, rel / "01_data_and_etl.ipynb")
    _menu(browser, "Run", "Run All Cells")
    image = _wait(browser, "//*[contains(@class, 'jp-OutputArea-output')]//img[starts-with(@src, 'data:image/png')]", 300)
    assert image.size["width"] > 200 and image.size["height"] > 100  # rendered, not a broken icon


def test_the_readme_shows_the_browser_screenshot():
    assert SCREENSHOT.exists() and SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert SCREENSHOT.stat().st_size < 400_000, "keep the committed screenshot small"
    assert f"({SCREENSHOT.relative_to(REPO).as_posix()})" in (REPO / "README.md").read_text()


def test_without_a_browser_the_test_skips_with_one_line(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception) as skipped:
        _browser_or_skip()
    assert "chromium" in str(skipped.value).lower() and "\n" not in str(skipped.value)
