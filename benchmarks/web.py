"""The local page's cost and speed (issue 18).

1. Device CPU (the whole process: camera, analysis, recording, page server) over `--seconds` of
   real time at the defaults, with no viewer and then with one live viewer: a separate process
   that does what live.js does, /api/health every 2 s and /events/stream open, and either the
   picture refresh (next /live.jpg once the last one arrived, every 1/live_fps s) or the live
   video (/live/video.mp4, the recorder's fragments). Goal: within 5 points of a core.
2. Event to row: headless Chromium (Debian's) on /events; a ring through the registry; time
   until its row is in the page, `--rings` times. Goal: under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.web_page import PASSWORD, PageDevice, page_device

VIEWER = r"""
import sys, threading, time, requests
url, password, fps, video = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == "video"
s = requests.Session()
s.post(url + "/login", data={"password": password, "next": "/live"}, allow_redirects=False)
def stream():
    with s.get(url + "/events/stream", stream=True) as r:
        for _ in r.iter_lines():
            pass
threading.Thread(target=stream, daemon=True).start()
def live_video():
    with s.get(url + "/live/video.mp4", stream=True) as r:
        for _ in r.iter_content(chunk_size=None):
            pass
if video:
    threading.Thread(target=live_video, daemon=True).start()
last_health = 0.0
while True:
    if not video:
        s.get(url + "/live.jpg")
    if time.monotonic() - last_health > 2:
        s.get(url + "/api/health"); last_health = time.monotonic()
    time.sleep(1 / fps)
"""


def cpu_percent(seconds: float) -> float:
    """This process's CPU over `seconds` of wall time, in percent of one core."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (time.process_time() - cpu0) / (time.monotonic() - wall0)


def measure_cpu(running: PageDevice, seconds: float, kind: str) -> tuple[float, int]:
    """CPU with one viewer of `kind` (pictures | video), and the JPEGs made meanwhile."""
    web = running.device.web
    assert web is not None
    fps = running.device.config.web.live_fps
    viewer = subprocess.Popen([sys.executable, "-c", VIEWER, running.url, PASSWORD, str(fps), kind])
    try:
        time.sleep(2.0)
        encoded = web.context.live.encoded
        watched = cpu_percent(seconds)
        encoded = web.context.live.encoded - encoded
    finally:
        viewer.kill()
        viewer.wait()
    return watched, encoded


def measure_rows(running: PageDevice, rings: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    delays = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page()
        page.goto(running.url + "/login")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(running.url + "/live")
        page.goto(running.url + "/events")
        time.sleep(1.0)
        for _ in range(rings):
            began = time.monotonic()
            event_id = running.ring()
            page.locator(f"#event-{event_id}").wait_for(timeout=10_000)
            delays.append(time.monotonic() - began)
            time.sleep(0.5)
        browser.close()
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rings", type=int, default=10)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, page_device(Path(tmp)) as running:
        source = running.device.source
        print(
            f"camera {source.width}x{source.height}@{source.fps:g}, web.live_fps "
            f"{running.device.config.web.live_fps:g}, {opts.seconds:g} s each"
        )
        time.sleep(2.0)  # settle after start
        idle = cpu_percent(opts.seconds)
        print(f"device CPU, no viewer:            {idle:5.1f} % of a core")
        for kind in ("pictures", "video"):
            watched, encoded = measure_cpu(running, opts.seconds, kind)
            rate = encoded / opts.seconds
            print(
                f"device CPU, one viewer ({kind:>8}): {watched:5.1f} % of a core "
                f"(+{watched - idle:.1f} points; {rate:.1f} JPEGs/s)"
            )
        delays = measure_rows(running, opts.rings)
        p50, worst = 1000 * statistics.median(delays), 1000 * max(delays)
        print(
            f"event -> row on the page ({len(delays)} rings): p50 {p50:.0f} ms, max {worst:.0f} ms"
        )


if __name__ == "__main__":
    main()
