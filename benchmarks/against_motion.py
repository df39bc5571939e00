"""Our device and Debian's `motion` on the same H.264 file, recording on in both (issues 20, 31).

Two kinds of footage (`Footage`), each printed beside its figures:
- real: OpenCV's `vtest.avi` (pedestrians, 768x576 at 10 fps) from Debian's `opencv-doc`,
  converted once to H.264 as a camera sends it, and the same picture scaled to 1280x720
  (`benchmarks/real_footage.py` fetches and converts it, and says so);
- scene: the `ten_visits` scene rendered by `doorbell scenario render` (15 fps, H.264).
Both programs decode the file, detect motion and record every frame to mp4:
- ours: `doorbell run --camera file:... --loop`, `record.mode=continuous`, in two cases: (a) no
  privacy mask, so the file's own H.264 packets are recorded as they are (pass-through, no
  encoder), and (b) a privacy mask over a corner, so every frame is re-encoded with libx264
  (the mask burned in); each at `--speed max` and in real time at the file's rate;
- Motion 4.5: `netcam_url file://...`, `emulate_motion on` and `movie_output on` with
  `movie_codec mp4` (every frame encoded and written; no mask). Motion reads a file at the
  file's own frame rate, so it runs in real time with `framerate` equal to it.
The runs of one round are interleaved (ours max a, ours max b, ours live a, Motion, ours live b)
so that a loaded machine weighs on both alike; `rounds` repeats them.

At `--speed max`, CPU per frame is user+sys of the whole run (`wait4`, start-up included) over
the frames of its summary, and printed again without start-up: a one-frame run's CPU and frame
subtracted (Motion's real-time figure leaves its start-up out too). In real time (both
programs), it is the CPU the process used (`/proc/PID/stat`) between `WARMUP` seconds after the
start and the end, over the frames of that span at the file's rate (a program that falls behind
is flattered, not penalised), and the same CPU as a share of one core. Memory
(`benchmarks/peak_memory.py`): each process's own peak RSS (`VmHWM`), and its peak private
memory (`RssAnon`) and file pages (`RssFile`, the libraries' code mostly) polled apart. Beside
each footage it prints the floor under our peak (`benchmarks/library_floor.py`): the libraries
imported, the same with our decoder and encoder on every frame and nothing else (a masked run's
floor), and with the decoder alone on a thread (a pass-through run's).
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

from benchmarks.peak_memory import Peaks, wait_with_peaks

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "device" / "emulation" / "scenarios" / "ten_visits.yaml"
SCENE_FPS = 15
WARMUP = 5.0  # seconds: start-up (imports, broker connection) is not per-frame work
# A privacy mask over the top-left corner: enough to make the recorder burn it in (re-encode).
MASK_CONFIG = (
    "privacy:\n  masks:\n    - name: corner\n"
    "      points: [[0.0, 0.0], [0.2, 0.0], [0.2, 0.2], [0.0, 0.2]]\n"
)

RunDevice = Callable[[list[str]], tuple[dict, float, float, Peaks]]


@dataclass
class Footage:
    label: str  # printed beside every figure taken on it
    video: Path
    width: int
    height: int
    fps: float


@dataclass
class Usage:
    frames: int
    cpu_seconds: float
    peaks: Peaks
    wall_seconds: float = 0.0  # the span the CPU was measured over (real time only)

    @property
    def ms_per_frame(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.frames)

    def __str__(self) -> str:
        share = ""
        if self.wall_seconds:
            share = f" ({100 * self.cpu_seconds / self.wall_seconds:.1f} % of a core)"
        return f"{self.ms_per_frame:.2f} ms/frame{share}, {self.peaks}"


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


def render(work: Path, width: int, height: int, seconds: float) -> Footage:
    """The ten_visits scene at this size as an H.264 MP4, by `doorbell scenario render`."""
    scene = work / f"ten_visits_{width}x{height}.yaml"
    text = SCENE.read_text()
    scene.write_text(f"{text.rstrip()}\nwidth: {width}\nheight: {height}\n")
    video = work / f"ten_visits_{width}x{height}.mp4"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "doorbell.device",
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
    label = f"scene ten_visits {width}x{height} (rendered, {SCENE_FPS} fps H.264)"
    return Footage(label, video, width, height, SCENE_FPS)


def real_footage(sizes: list[tuple[int, int]]) -> list[Footage]:
    """OpenCV's vtest.avi from Debian's opencv-doc, as a camera's H.264, at each size."""
    from benchmarks.real_footage import vtest_h264

    out = []
    for width, height in sizes:
        scaled = "" if (width, height) == (768, 576) else ", scaled from 768x576"
        label = f"real vtest.avi {width}x{height} (10 fps H.264{scaled})"
        out.append(Footage(label, vtest_h264(width, height), width, height, 10.0))
    return out


def ours_args(
    common: list[str], footage: Footage, work: Path, masked: bool, speed: str
) -> list[str]:
    args = [*common, "--camera", f"file:{footage.video}", "--loop", "--speed", speed]
    args += ["--set", "record.mode=continuous", "--data-dir", str(work)]
    # Motion classifies nothing; our event classifier (issue 26), on when its model is installed
    # (dev.sh installs it), is ~55 MB and its own CPU: measured apart by benchmarks/classify.py.
    args += ["--set", "classify.enabled=false"]
    if masked:
        config = work.parent / "masked.yaml"
        config.write_text(MASK_CONFIG)
        args += ["--config", str(config)]
    return args


def run_ours(
    run_device: RunDevice,
    common: list[str],
    footage: Footage,
    work: Path,
    masked: bool,
    seconds: float,
) -> Usage:
    args = ours_args(common, footage, work, masked, "max")
    summary, _, cpu, peaks = run_device([*args, "--duration", str(seconds)])
    return Usage(summary["frames"], cpu, peaks)


def run_live(command: list[str], seconds: float, fps: float) -> Usage:
    """Run a real-time program for WARMUP + `seconds`, stop it with SIGTERM; its steady CPU per
    frame and its peaks."""
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
    _, _, peaks = wait_with_peaks(proc)
    (t0, cpu0), (t1, cpu1) = waits
    return Usage(round((t1 - t0) * fps), cpu1 - cpu0, peaks, t1 - t0)


def run_ours_live(
    common: list[str], footage: Footage, work: Path, masked: bool, seconds: float
) -> Usage:
    args = ours_args(common, footage, work, masked, "1")
    return run_live([sys.executable, "-m", "doorbell.device", "run", *args], seconds, footage.fps)


def cpu_seconds(pid: int) -> float:
    """User + system time of a running process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_motion(motion: str, footage: Footage, seconds: float) -> Usage:
    with tempfile.TemporaryDirectory(prefix="motion-bench-") as tmp:
        movies = Path(tmp) / "movies"
        movies.mkdir()
        conf = Path(tmp) / "motion.conf"
        conf.write_text(
            "daemon off\nsetup_mode off\nlog_level 4\n"
            f"target_dir {movies}\nnetcam_url file://{footage.video}\n"
            f"width {footage.width}\nheight {footage.height}\nframerate {round(footage.fps)}\n"
            "emulate_motion on\nmovie_output on\nmovie_codec mp4\nmovie_max_time 0\n"
            "picture_output off\nwebcontrol_port 0\nstream_port 0\n"
        )
        usage = run_live([motion, "-n", "-c", str(conf)], seconds, footage.fps)
        if not sum(count_frames(movie) for movie in movies.iterdir()):
            raise SystemExit(f"motion recorded nothing; try motion -n -c {conf}")
    return usage


def compile_bytecode() -> None:
    """Compile the device's modules once, as installing a wheel does: with
    PYTHONDONTWRITEBYTECODE set (as in CI) an editable install compiles every module at every
    start, ~0.06 s of CPU that a device never spends."""
    packages = [str(ROOT / name) for name in ("device", "motion", "uplink", "config")]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *packages], check=True, stdout=subprocess.DEVNULL
    )


def floor_peaks(*args: str) -> Peaks:
    """Peaks of `benchmarks/library_floor.py ARGS`: the libraries without the device."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "library_floor.py"), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    code, _, peaks = wait_with_peaks(proc)
    if code != 0:
        raise SystemExit(f"library_floor.py {' '.join(args)} failed ({code})")
    return peaks


def count_frames(movie: Path) -> int:
    with av.open(str(movie)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


def beyond_start(run: Usage, start: Usage) -> Usage:
    """CPU a frame beyond start-up and shut-down (imports, the broker, the index: ~0.5 s of CPU,
    0.4 ms a frame over 1200 frames): a one-frame run's subtracted, as Motion's real-time figure
    leaves its own start-up out."""
    return Usage(run.frames - start.frames, run.cpu_seconds - start.cpu_seconds, run.peaks)


def ratio(ours: Usage, theirs: Usage) -> str:
    return f"{ours.ms_per_frame / max(theirs.ms_per_frame, 1e-9):.2f}x Motion's"


def compare(
    run_device: RunDevice,
    common: list[str],
    footages: list[Footage],
    seconds: float,
    rounds: int = 1,
) -> None:
    motion = ensure_motion()
    compile_bytecode()
    version = subprocess.run([motion, "-h"], capture_output=True, text=True).stdout.split("\n")[0]
    print(
        f"against {version.split(',')[0]}, recording every frame in both; (a) ours without a "
        "mask (pass-through: the file's own H.264), (b) ours with a privacy mask (re-encoded); "
        f"{rounds} round(s), interleaved",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="against-motion-") as tmp:
        for n, footage in enumerate(footages):
            for round_ in range(rounds):
                work = Path(tmp) / f"f{n}r{round_}"
                work.mkdir()
                fast_a = run_ours(run_device, common, footage, work / "a", False, 4 * seconds)
                fast_b = run_ours(run_device, common, footage, work / "b", True, 4 * seconds)
                one_frame = max(0.1, 1 / footage.fps)
                start_a = run_ours(run_device, common, footage, work / "a0", False, one_frame)
                start_b = run_ours(run_device, common, footage, work / "b0", True, one_frame)
                steady_a, steady_b = beyond_start(fast_a, start_a), beyond_start(fast_b, start_b)
                live_a = run_ours_live(common, footage, work / "c", False, seconds)
                theirs = run_motion(motion, footage, seconds)
                live_b = run_ours_live(common, footage, work / "d", True, seconds)
                print(
                    f"  {footage.label}, round {round_ + 1}:\n"
                    f"    motion, real time:             {theirs}\n"
                    f"    (a) pass-through, --speed max: {fast_a} ({fast_a.frames} frames; "
                    f"{ratio(fast_a, theirs)})\n"
                    f"      without start-up:            {steady_a.ms_per_frame:.2f} ms/frame "
                    f"({ratio(steady_a, theirs)})\n"
                    f"    (a) pass-through, real time:   {live_a} ({ratio(live_a, theirs)})\n"
                    f"    (b) masked, --speed max:       {fast_b} ({fast_b.frames} frames; "
                    f"{ratio(fast_b, theirs)})\n"
                    f"      without start-up:            {steady_b.ms_per_frame:.2f} ms/frame "
                    f"({ratio(steady_b, theirs)})\n"
                    f"    (b) masked, real time:         {live_b} ({ratio(live_b, theirs)})",
                    flush=True,
                )
            imports, media = floor_peaks("imports"), floor_peaks("media", str(footage.video))
            decoded = floor_peaks("decode", str(footage.video))
            print(
                f"    the floor under our peaks on {footage.label}: the libraries imported "
                f"{imports}; with the device's own decoder and encoder on every frame, nothing "
                f"else {media}; with its decoder alone, on a thread (pass-through) {decoded}",
                flush=True,
            )
