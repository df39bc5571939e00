"""Our device and Debian's `motion` on the same H.264 file, recording on in both (issue 20).

The file is the `ten_visits` scene rendered by `doorbell scenario render` at the size asked
(OpenCV's `vtest.avi` is not available offline). Both programs decode it, detect motion and
encode H.264 to mp4:
- ours: `doorbell run --camera file:... --loop`, `record.mode=continuous` (every frame encoded
  and written); at `--speed max`, and in real time;
- Motion 4.5: `netcam_url file://...`, `emulate_motion on` and `movie_output on` with
  `movie_codec mp4` (every frame encoded and written). Motion reads a file at the file's own
  frame rate, so it runs in real time with `framerate` equal to it: one loop per source frame.

At `--speed max`, CPU per frame is user+sys of the whole run (`wait4`, start-up included) over
the frames of its summary. In real time (both programs), it is the CPU the process used
(`/proc/PID/stat`) between `WARMUP` seconds after the start and the end, over the frames of that
span at the file's rate (a program that falls behind is flattered, not penalised). Peak RSS is
the child's own high-water mark (`benchmarks/peak_memory.py`: not `ru_maxrss`, which would
include this benchmark's own size). Beside each size it prints the floor under our peak
(`benchmarks/library_floor.py`): the libraries imported, and the same with our decoder and
encoder on every frame and nothing else.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av

from benchmarks.peak_memory import wait_with_peak

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "device" / "scenarios" / "ten_visits.yaml"
FPS = 15
WARMUP = 5.0  # seconds: start-up (imports, broker connection) is not per-frame work


@dataclass
class Usage:
    frames: int
    cpu_seconds: float
    peak_rss_mb: float

    @property
    def ms_per_frame(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.frames)

    def __str__(self) -> str:
        return f"{self.ms_per_frame:.2f} ms/frame, peak RSS {self.peak_rss_mb:.0f} MB"


def ensure_motion() -> str:
    """Debian's `motion`, installed with apt-get when missing (said on stdout)."""
    found = shutil.which("motion")
    if found:
        return found
    print("motion is not installed: apt-get install -y motion", flush=True)
    subprocess.run(["apt-get", "install", "-y", "motion"], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("motion")
    if not found:
        raise SystemExit("apt-get installed motion but it is not on PATH")
    return found


def render(work: Path, width: int, height: int, seconds: float) -> Path:
    """The ten_visits scene at this size as an H.264 MP4, by `doorbell scenario render`."""
    scene = work / f"ten_visits_{width}x{height}.yaml"
    text = SCENE.read_text()
    scene.write_text(f"{text.rstrip()}\nwidth: {width}\nheight: {height}\n")
    video = work / f"ten_visits_{width}x{height}.mp4"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "device",
            "scenario",
            "render",
            str(scene),
            "-o",
            str(video),
            "--duration",
            str(seconds),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return video


def run_ours(
    run_device: Callable[[list[str]], tuple[dict, float, float, float]],
    common: list[str],
    video: Path,
    work: Path,
    speed: str,
    seconds: float,
) -> Usage:
    summary, _, cpu, rss = run_device(
        [
            *common,
            "--camera",
            f"file:{video}",
            "--loop",
            "--speed",
            speed,
            "--duration",
            str(seconds),
            "--set",
            "record.mode=continuous",
            "--data-dir",
            str(work),
        ]
    )
    return Usage(summary["frames"], cpu, rss)


def run_live(command: list[str], seconds: float) -> Usage:
    """Run a real-time program for WARMUP + `seconds`, stop it with SIGTERM; its steady CPU per
    frame and its peak RSS."""
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    began = time.monotonic()
    waits = [(WARMUP, 0.0), (WARMUP + seconds, 0.0)]
    for i, (at, _) in enumerate(waits):
        while time.monotonic() - began < at and proc.poll() is None:
            time.sleep(0.1)  # a real-time program: the benchmark's own wall-clock budget
        if proc.poll() is not None:
            raise SystemExit(f"{command[0]} exited early ({proc.returncode}): {command}")
        waits[i] = (time.monotonic(), cpu_seconds(proc.pid))
    proc.send_signal(signal.SIGTERM)  # both finish the movie or clip they are writing
    _, _, peak = wait_with_peak(proc)
    (t0, cpu0), (t1, cpu1) = waits
    return Usage(round((t1 - t0) * FPS), cpu1 - cpu0, peak)


def cpu_seconds(pid: int) -> float:
    """User + system time of a running process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_motion(motion: str, video: Path, width: int, height: int, seconds: float) -> Usage:
    with tempfile.TemporaryDirectory(prefix="motion-bench-") as tmp:
        movies = Path(tmp) / "movies"
        movies.mkdir()
        conf = Path(tmp) / "motion.conf"
        conf.write_text(
            "daemon off\nsetup_mode off\nlog_level 4\n"
            f"target_dir {movies}\nnetcam_url file://{video}\n"
            f"width {width}\nheight {height}\nframerate {FPS}\n"
            "emulate_motion on\nmovie_output on\nmovie_codec mp4\nmovie_max_time 0\n"
            "picture_output off\nwebcontrol_port 0\nstream_port 0\n"
        )
        usage = run_live([motion, "-n", "-c", str(conf)], seconds)
        if not sum(count_frames(movie) for movie in movies.iterdir()):
            raise SystemExit(f"motion recorded nothing; try motion -n -c {conf}")
    return usage


def floor_mb(*args: str) -> float:
    """Peak RSS of `benchmarks/library_floor.py ARGS`: the libraries without the device."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "library_floor.py"), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    code, _, peak = wait_with_peak(proc)
    if code != 0:
        raise SystemExit(f"library_floor.py {' '.join(args)} failed ({code})")
    return peak


def count_frames(movie: Path) -> int:
    with av.open(str(movie)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


def compare(
    run_device: Callable[[list[str]], tuple[dict, float, float, float]],
    common: list[str],
    sizes: list[tuple[int, int]],
    seconds: float,
) -> None:
    motion = ensure_motion()
    version = subprocess.run([motion, "-h"], capture_output=True, text=True).stdout.split("\n")[0]
    print(
        f"against {version.split(',')[0]}: ten_visits rendered by `doorbell scenario render`, "
        f"{FPS} fps H.264, recording every frame in both"
    )
    with tempfile.TemporaryDirectory(prefix="against-motion-") as tmp:
        work = Path(tmp)
        for width, height in sizes:
            video = render(work, width, height, 60.0)
            fast = run_ours(run_device, common, video, work / f"a{width}", "max", 4 * seconds)
            live = run_live(
                [
                    sys.executable,
                    "-m",
                    "device",
                    "run",
                    *common,
                    "--camera",
                    f"file:{video}",
                    "--loop",
                    "--speed",
                    "1",
                    "--set",
                    "record.mode=continuous",
                    "--data-dir",
                    str(work / f"b{width}"),
                ],
                seconds,
            )
            theirs = run_motion(motion, video, width, height, seconds)
            print(
                f"  {width}x{height}: doorbell --speed max {fast} ({fast.frames} frames); "
                f"real time, steady: doorbell {live}; motion {theirs}"
            )
            imports, media = floor_mb("imports"), floor_mb("media", str(video))
            print(
                f"    the floor under that peak RSS: the libraries imported {imports:.0f} MB; "
                f"with the device's own decoder and encoder on every frame, nothing else "
                f"{media:.0f} MB"
            )
