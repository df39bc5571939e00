"""What the device's memory is, at its peak, on real footage (issue 31, part 3).

Prints, for `doorbell run` on OpenCV's vtest.avi (`benchmarks/real_footage.py`), recording every
frame, at `--speed max`, without a mask (pass-through) and with one (re-encoded):
1. what each library costs to import, in a fresh interpreter, in the device's order: private
   memory (RssAnon) and file pages (RssFile) added by each import; then what the device's own
   modules add, by package (each module's own share, what it imports apart), and the private
   memory at each stage of a run: imports done, the device built, frames 1, 10 and 100, the peak;
2. the device's private memory at its peak (`/proc/PID/smaps` read whenever RssAnon reaches a
   new high), by kind: the main heap (brk), the threads' malloc arenas (64 MB reservations),
   the thread stacks, Python's object arenas (1 MB), and other anonymous mappings (the codecs'
   frame buffers, mostly);
3. its file pages at that moment, by library, those resident the most first;
4. Python's own objects: the peak traced by `tracemalloc` over a run of the device in-process,
   and the files that held most at the end of the steady state.

Usage: python benchmarks/memory_breakdown.py [--seconds 60] [--size 768x576] [--gop 2]
(`--gop 25`: the same footage with a keyframe every 25 s, as a long-GOP camera sends it)
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.against_motion import MASK_CONFIG, compile_bytecode  # noqa: E402
from benchmarks.peak_memory import poll_status  # noqa: E402
from benchmarks.real_footage import GOP_SECONDS, describe, frame_size, vtest_h264  # noqa: E402
from tests.support.broker import MosquittoBroker  # noqa: E402

IMPORTS = ["numpy", "cv2", "av", "simplejpeg", "pydantic", "yaml", "click", "sqlite3"]
IMPORTS += ["ssl", "paho.mqtt.client", "doorbell.device.runtime.device"]
MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")
MB = 1024.0  # smaps counts kB


def import_costs() -> None:
    code = (
        "import importlib, sys\n"
        "from benchmarks.peak_memory import poll_status\n"
        "import os\n"
        "prev = poll_status(os.getpid())\n"
        f"for name in {IMPORTS!r}:\n"
        "    importlib.import_module(name)\n"
        "    now = poll_status(os.getpid())\n"
        '    print(f\'    {name:34s} RssAnon +{now["RssAnon"] - prev["RssAnon"]:5.1f} MB, \'\n'
        '          f\'RssFile +{now["RssFile"] - prev["RssFile"]:5.1f} MB\')\n'
        "    prev = now\n"
        "print(f'    all imported: RssAnon {prev[\"RssAnon\"]:.1f} MB, '\n"
        "      f'RssFile {prev[\"RssFile\"]:.1f} MB')\n"
    )
    print("1. imports, in a fresh interpreter (interpreter alone first):", flush=True)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


OWN_MODULES = """
import importlib, importlib.abc, os, sys
from collections import Counter
from benchmarks.peak_memory import poll_status
def anon():
    return poll_status(os.getpid())["RssAnon"]
for name in IMPORTS[:-1]:
    importlib.import_module(name)
own, nested = Counter(), [0.0]
class Measured(importlib.abc.Loader):  # a module's own share: what its imports added taken off
    def __init__(self, inner):
        self.inner = inner
    def create_module(self, spec):
        return self.inner.create_module(spec)
    def exec_module(self, module):
        before = anon()
        nested.append(0.0)
        try:
            self.inner.exec_module(module)
        finally:
            inner, added = nested.pop(), anon() - before
            nested[-1] += added
            name = module.__name__
            if name.startswith("doorbell."):
                name = ".".join(name.split(".")[:3])
            own[name] += added - inner
class Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = Measured(spec.loader)
                return spec
        return None
sys.meta_path.insert(0, Finder())
start = anon()
importlib.import_module("doorbell.device.cli.run")
ours = sum(mb for name, mb in own.items() if name.startswith("doorbell."))
print(f"    the device's own modules over the libraries: RssAnon +{anon() - start:.1f} MB "
      f"({ours:.1f} MB in its own modules, the rest in what they import beyond the list above)")
for name, mb in own.most_common(14):
    print(f"      {mb:5.2f} MB {name}")
"""

STAGES = """
import os, sys, threading, time
from benchmarks.peak_memory import poll_status
def anon():
    return poll_status(os.getpid())["RssAnon"]
said = [f"interpreter {anon():.1f}"]
from doorbell.device.cli import main
from doorbell.device.runtime.device import Device
said.append(f"imports {anon():.1f}")
built = []
device_run = Device.run
def run(self, stop):  # the device built: watch its frames from here
    built.append(self)
    said.append(f"device built {anon():.1f}")
    return device_run(self, stop)
Device.run = run
peak = [0.0]
def watch():
    marks = [1, 10, 100]
    while not built:
        time.sleep(0.001)
    while True:
        now = anon()
        peak[0] = max(peak[0], now)
        if marks and built[0].pipeline.stats.frames >= marks[0]:
            said.append(f"frame {marks.pop(0)} {now:.1f}")
        time.sleep(0.002)
threading.Thread(target=watch, daemon=True).start()
sys.argv = ["doorbell", *ARGS]
try:
    main()
except SystemExit:
    pass
said.append(f"peak {peak[0]:.1f}")
print("    RssAnon (MB) at each stage: " + ", ".join(said))
"""


def own_modules() -> None:
    code = f"IMPORTS = {IMPORTS!r}\n{OWN_MODULES}"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def stages(args: list[str]) -> None:
    """Private memory as a run goes: imports, the device built, its first frames, the peak."""
    subprocess.run([sys.executable, "-c", f"ARGS = {args!r}\n{STAGES}"], cwd=ROOT, check=True)


def device_args(video: Path, work: Path, masked: bool, seconds: float, broker: str) -> list[str]:
    args = ["run", "--camera", f"file:{video}", "--loop", "--speed", "max"]
    args += ["--duration", str(seconds), "--set", "record.mode=continuous"]
    args += ["--set", "web.listen=null", "--broker", broker, "--log-level", "ERROR"]
    # The event classifier's model (issue 26) is ~55 MB on its own when installed: measured
    # apart (benchmarks/classify.py); here what the camera-to-clip path is.
    args += ["--set", "classify.enabled=false"]
    args += ["--data-dir", str(work / ("masked" if masked else "plain"))]
    if masked:
        config = work / "masked.yaml"
        config.write_text(MASK_CONFIG)
        args += ["--config", str(config)]
    return args


def smaps_at_peak(args: list[str]) -> tuple[str, float]:
    """Run the device; /proc/PID/smaps as it was when RssAnon was highest, and that RssAnon."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "doorbell.device", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    best, text = 0.0, ""
    while proc.poll() is None:
        anon = poll_status(proc.pid).get("RssAnon", 0.0)
        if anon > best + 0.2:
            try:
                text = Path(f"/proc/{proc.pid}/smaps").read_text()
                best = anon
            except OSError:
                break
        time.sleep(0.05)
    proc.wait()
    return text, best


def breakdown(text: str) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Private memory by kind and file pages by file, in MB."""
    anon: collections.Counter[str] = collections.Counter()
    files: collections.Counter[str] = collections.Counter()
    name, size = "", 0
    for line in text.splitlines():
        found = MAPPING.match(line)
        if found:
            start, end, name = found.groups()
            size = int(end, 16) - int(start, 16)
            continue
        field, _, value = line.partition(":")
        if field == "Anonymous":
            kb = int(value.split()[0])
            if name == "[heap]":
                kind = "main heap (brk)"
            elif name.startswith("[stack"):
                kind = "main thread stack"
            elif name:
                kind = f"private pages of {Path(name).name}"
            elif int(start, 16) % (64 * 2**20) == 0 and size <= 64 * 2**20:
                kind = "threads' malloc arenas (64 MB reservations)"
            elif size in (8 * 2**20, 8 * 2**20 + 4096) or size == 8 * 2**20 - 4096:
                kind = "thread stacks (8 MB reservations)"
            elif size == 2**20:
                kind = "1 MB mappings (Python's object arenas)"
            else:
                kind = "other anonymous mappings (codec buffers, numpy arrays, mmap'd malloc)"
            if name and kind.startswith("private pages of"):
                kind = "libraries' own private pages (relocations, .data, .bss)"
            anon[kind] += kb / MB
        elif field == "Rss" and name.startswith("/"):
            files[name] += int(value.split()[0]) / MB
    return anon, files


def traced(video: Path, work: Path, seconds: float, broker: str) -> None:
    """The device in-process under tracemalloc: Python's objects' peak, and where they are."""
    code = (
        "import sys, threading, time, tracemalloc\n"
        "tracemalloc.start(1)\n"
        "from doorbell.device.cli import main\n"
        "held = []\n"
        "def watch():\n"  # a snapshot whenever what is traced reaches a new high (by 5 %)
        "    best = 0\n"
        "    while True:\n"
        "        now = tracemalloc.get_traced_memory()[0]\n"
        "        if now > best * 1.05:\n"
        "            best, held[:] = now, [tracemalloc.take_snapshot()]\n"
        "        time.sleep(0.2)\n"
        "threading.Thread(target=watch, daemon=True).start()\n"
        "try:\n"
        f"    sys.argv = ['doorbell', *{device_args(video, work, False, seconds, broker)!r}]\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "current, peak = tracemalloc.get_traced_memory()\n"
        "print(f'    peak traced {peak / 2**20:.1f} MB (at exit {current / 2**20:.1f} MB)')\n"
        "if held:\n"
        "    stats = held[0].statistics('filename')\n"
        "    total = sum(s.size for s in stats)\n"
        "    print(f'    at the highest snapshot {total / 2**20:.1f} MB, by file:')\n"
        "    for s in stats[:12]:\n"
        "        name = '/'.join(str(s.traceback[0].filename).split('/')[-3:])\n"
        "        print(f'      {s.size / 2**20:5.2f} MB {name}')\n"
    )
    print("4. Python's objects (tracemalloc; the device in-process, pass-through):", flush=True)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0, help="Video seconds per run.")
    parser.add_argument("--size", type=frame_size, default=(768, 576), help="768x576 or 1280x720.")
    parser.add_argument(
        "--gop", type=float, default=GOP_SECONDS, help="Seconds between the footage's keyframes."
    )
    opts = parser.parse_args()
    width, height = opts.size
    video = vtest_h264(width, height, opts.gop)
    print(f"footage: {describe(opts.gop)}, {width}x{height}")
    compile_bytecode()
    import_costs()
    own_modules()
    with tempfile.TemporaryDirectory(prefix="memory-breakdown-") as tmp:
        work = Path(tmp)
        broker = MosquittoBroker(work / "broker")
        broker.start()
        try:
            for masked in (False, True):
                case = "with a mask (re-encoded)" if masked else "without a mask (pass-through)"
                print(f"   {case}, in-process (the stages need the device object):")
                stages(device_args(video, work, masked, max(opts.seconds, 100.0), broker.url))
                text, peak = smaps_at_peak(
                    device_args(video, work, masked, opts.seconds, broker.url)
                )
                anon, files = breakdown(text)
                print(f"2. private memory at the peak, {case}: RssAnon {peak:.1f} MB")
                for kind, mb in anon.most_common():
                    print(f"    {mb:6.1f} MB {kind}")
                print(f"3. file pages then, {case}: {sum(files.values()):.1f} MB; the largest:")
                for name, mb in files.most_common(16):
                    shown = name.split("site-packages/")[-1]
                    print(f"    {mb:6.1f} MB {shown}")
            traced(video, work, opts.seconds, broker.url)

        finally:
            broker.stop()


if __name__ == "__main__":
    main()
