"""The local page in a real browser: Debian's Chromium, headless, driven by Playwright (never a
downloaded browser). One device, one walk through every page; a screenshot of each is saved
under the test's tmp dir."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Page, sync_playwright

from tests.support.footage import PutServer, Signer, iso, request_body
from tests.support.web_page import PASSWORD, PageDevice, page_device, wait_until

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed (dev.sh test)"
    ),
]
SIGNER = Signer()


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        # Playwright's polling evaluates strings, which the page's CSP forbids: bypassed here,
        # and checked on its own at the end of the walk (_no_csp_violations).
        context = browser.new_context(viewport={"width": 1024, "height": 900}, bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            browser.close()


def test_the_owner_uses_every_page_in_a_real_browser(tmp_path: Path, browser_page: Page) -> None:
    page = browser_page
    shots = tmp_path / "screenshots"
    shots.mkdir()
    server = PutServer()
    requests_section = {
        "trusted_keys": [SIGNER.public],
        "allow_insecure_upload": True,
        "upload_backoff_seconds": 0.0,
    }
    with page_device(tmp_path, requests=requests_section) as running:
        try:
            _walk(page, running, shots, server)
        except Exception:
            page.screenshot(path=str(shots / "failed.png"), full_page=True)
            raise
        finally:
            server.close()
    assert sorted(p.name for p in shots.iterdir()) == [
        "clip.png",
        "events.png",
        "live-masks.png",
        "live.png",
        "login.png",
        "phone-events.png",
        "requests.png",
        "settings.png",
        "zones.png",
    ]


def _walk(p: Page, running: PageDevice, shots: Path, server: PutServer) -> None:
    url = running.url

    # -- log in ---------------------------------------------------------------------------------
    p.goto(url + "/live?jpeg=1")
    assert p.url.startswith(url + "/login")
    p.screenshot(path=str(shots / "login.png"))
    p.get_by_label("Password").fill(PASSWORD)
    p.get_by_role("button", name="Log in").click()
    p.wait_for_url(url + "/live?jpeg=1")

    # -- live: the picture changes, health shows ------------------------------------------------
    p.wait_for_function("document.getElementById('live').src.includes('n=1')")
    p.wait_for_function("document.getElementById('live').src.includes('n=3')")
    first = p.locator("#live").screenshot()
    p.wait_for_function(
        "(s) => !document.getElementById('live').src.endsWith(s)",
        arg=p.eval_on_selector("#live", "e => e.src.split('?')[1]"),
    )
    wait_until(lambda: p.locator("#live").screenshot() != first, what="the picture to change")
    p.wait_for_function("document.querySelector('[data-key=broker_connected]').textContent !== '…'")
    p.get_by_label("Mode").select_option("home")
    p.get_by_role("button", name="Set mode").click()
    wait_until(lambda: running.device.mode == "home", what="mode home")
    # live video: the recorder's fragments through Media Source Extensions
    p.goto(url + "/live")
    p.wait_for_function("document.getElementById('live-video').readyState >= 2")
    at = p.evaluate("document.getElementById('live-video').currentTime")
    p.wait_for_function(f"document.getElementById('live-video').currentTime > {at} + 0.5")
    assert p.is_visible("#live-video") and p.is_hidden("#live")
    p.screenshot(path=str(shots / "live.png"), full_page=True)

    # -- events: a visit appears without a reload -----------------------------------------------
    p.goto(url + "/events")
    p.evaluate("window.notReloaded = true")
    began = time.monotonic()
    event_id = running.ring()  # a visitor rings
    row = p.locator(f"#event-{event_id}")
    row.wait_for()
    appeared = time.monotonic() - began
    assert p.evaluate("window.notReloaded") is True
    assert "ring" in row.inner_text() and appeared < 5, appeared
    clip_id = running.clip_of(event_id)
    play = row.get_by_role("link", name="Play")
    play.wait_for()  # the row was updated in place when its clip was done
    p.screenshot(path=str(shots / "events.png"), full_page=True)

    # -- clip: plays in the page's own <video> --------------------------------------------------
    play.click()
    p.wait_for_url(f"{url}/clips/{clip_id}")
    p.wait_for_function("document.getElementById('clip').readyState >= 2")
    p.evaluate(
        "document.getElementById('clip').muted = true; document.getElementById('clip').play()"
    )
    p.wait_for_function("document.getElementById('clip').currentTime > 0.2")
    p.screenshot(path=str(shots / "clip.png"), full_page=True)

    # -- zones and masks: draw a mask over the top-left quarter, find it black ------------------
    p.goto(url + "/zones")
    p.wait_for_function("document.getElementById('snapshot').naturalWidth > 0")
    box = p.locator("#draw").bounding_box()
    assert box is not None
    w, h = box["width"], box["height"]
    for fx, fy in ((0.02, 0.02), (0.5, 0.02), (0.5, 0.5), (0.02, 0.5)):
        p.locator("#draw").click(position={"x": w * fx, "y": h * fy})
    p.get_by_label("Name of the next polygon").fill("neighbour")
    p.get_by_role("button", name="Close polygon").click()
    p.get_by_role("button", name="Save and apply").click()
    p.get_by_text("Saved and applied.").wait_for()
    p.wait_for_function("document.getElementById('snapshot').src.includes('after-save')")
    p.screenshot(path=str(shots / "zones.png"), full_page=True)
    seq = int(p.request.get(url + "/live.jpg").headers["x-frame-seq"])

    def next_picture() -> bytes | None:
        got = p.request.get(url + "/live.jpg")
        return got.body() if int(got.headers["x-frame-seq"]) > seq else None

    image = cv2.imdecode(np.frombuffer(wait_until(next_picture), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    ih, iw = image.shape
    assert image[ih // 10 : ih * 4 // 10, iw // 10 : iw * 4 // 10].max() < 20
    assert running.device.config.privacy.masks[0].name == "neighbour"
    p.goto(url + "/live?jpeg=1")
    p.get_by_label("Show motion zones (blue) and privacy masks (outlined)").check()
    p.wait_for_selector("#live-overlay", state="visible")
    p.screenshot(path=str(shots / "live-masks.png"))

    # -- requests: one queued, approved with its clip -------------------------------------------
    now = time.time()
    body = request_body(
        "req-web",
        now - 600,
        now - 0.01,
        now + 3600,
        server.url(),
        audience="webtest",
        issued_at=iso(now - 5),
    )
    reply = running.command("footage_request", **SIGNER.sign(body))
    assert reply is not None and (reply.model_extra or {}).get("decision") == "pending_review"
    p.goto(url + "/requests")
    article = p.locator("#request-req-web")
    assert clip_id in article.inner_text() or article.get_by_role("checkbox").count() >= 1
    p.screenshot(path=str(shots / "requests.png"), full_page=True)
    article.get_by_label("Share as recorded", exact=False).check()  # faces: test_redaction.py
    article.get_by_role("button", name="Approve").click()
    wait_until(lambda: server.received, what="the approved clips to be uploaded")
    p.wait_for_url(url + "/requests")
    assert "Verified" in p.locator("#audit-check").inner_text()

    # -- settings, and the events page on a phone -----------------------------------------------
    p.goto(url + "/settings")
    p.screenshot(path=str(shots / "settings.png"))
    p.set_viewport_size({"width": 390, "height": 844})
    p.goto(url + "/events")
    assert p.evaluate("document.documentElement.scrollWidth <= 400")
    p.screenshot(path=str(shots / "phone-events.png"), full_page=True)
    _no_csp_violations(p, url)


def _no_csp_violations(page: Page, url: str) -> None:
    """The walk ran with the CSP bypassed (Playwright polls by eval); here every page loads
    under the real policy and none of its own scripts, styles or pictures may be refused."""
    assert page.context.browser is not None
    context = page.context.browser.new_context()
    strict = context.new_page()
    violations: list[str] = []
    strict.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    strict.goto(url + "/login")
    strict.get_by_label("Password").fill(PASSWORD)
    strict.get_by_role("button", name="Log in").click()
    strict.wait_for_url(url + "/live")
    for path in ("/live", "/events", "/zones", "/requests", "/settings"):
        strict.goto(url + path)
        strict.wait_for_load_state("load")
    context.close()
    assert violations == []
