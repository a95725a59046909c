"""The report and the explorer in a real browser: Debian's chromium driven by Playwright.

Skipped, with the reason, where Playwright or a chromium executable is absent (`.ci/run`
installs both; Playwright's own browser download is not used). Set DEEPSCOPE_CHROMIUM to use
another executable.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time

import numpy as np
import pytest
from PIL import Image

from deepscope.cli import main

CHROMIUM = os.environ.get("DEEPSCOPE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium executable (apt-get install chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("browser") / "run"
    assert main(["train", "lecture_cnn", "--data", "digits", "--epochs", "3", "--out", str(path), "--quiet"]) == 0
    return path


def _console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _not_blank(png: bytes) -> bool:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)
    return pixels.std() > 5


def test_the_report_loads_offline_with_every_image_drawn(browser, digits_run):
    page = browser.new_page()
    errors = _console_errors(page)
    page.goto((digits_run / "report.html").as_uri())
    sizes = page.eval_on_selector_all("img", "images => images.map(i => [i.complete, i.naturalWidth])")
    assert len(sizes) >= 4 and all(done and width > 0 for done, width in sizes)
    assert "Interpretation" in page.inner_text("body")
    assert _not_blank(page.screenshot(full_page=True))
    assert errors == []
    page.close()


@pytest.fixture(scope="module")
def explorer_url(digits_run):
    import uvicorn

    from deepscope.serve import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app([digits_run]), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_explorer_predicts_an_example_and_a_drawing(browser, explorer_url):
    page = browser.new_page()
    errors = _console_errors(page)
    page.goto(explorer_url)
    page.wait_for_selector("#examples img")
    page.click("#examples img >> nth=0")
    page.wait_for_selector(".prediction", timeout=60_000)
    assert page.inner_text(".prediction").startswith("Prediction: ")
    assert page.eval_on_selector_all(".figures img", "images => images.every(i => i.naturalWidth > 0)")
    assert _not_blank(page.screenshot())
    box = page.locator("#canvas").bounding_box()  # draw a vertical stroke: a "1"
    page.mouse.move(box["x"] + 98, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(box["x"] + 98, box["y"] + 170, steps=12)
    page.mouse.up()
    page.click("#predict-drawing")
    page.wait_for_function("document.querySelector('.prediction') !== null", timeout=60_000)
    assert page.inner_text(".prediction").startswith("Prediction: ")
    assert errors == []
    page.close()


def test_the_explorer_refuses_a_bad_upload_with_a_message(browser, explorer_url, tmp_path):
    page = browser.new_page()
    page.goto(explorer_url)
    page.wait_for_selector("#examples img")
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"this is not a picture")
    page.set_input_files("#file", str(fake))
    page.wait_for_selector(".result .error", timeout=60_000)
    message = page.inner_text("#status")
    assert "upload.png" in message  # deepscope's own error, naming the file it could not read
    page.close()
