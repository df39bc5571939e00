"""Recording costs (issue 5), at 640x480@15 and 1280x720@15, with the default record settings:

- encoding cost as a share of one core (CPU seconds per second of video, continuous encoding),
- pre-roll ring memory (encoded fragments held),
- clip write latency: from the event's end to the clip being complete, in frame time (post-roll
  plus alignment to the next fragment) and the processing time of finishing it,
- size per minute of video.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from doorbell.config.camera import CameraConfig
from doorbell.config.privacy import PrivacyConfig
from doorbell.config.record import RecordConfig, StorageConfig
from doorbell.device.recording.clip import ClipInfo
from doorbell.device.recording.recorder import Recorder
from doorbell.device.recording.stream_encoder import StreamEncoder
from doorbell.device.sources import open_source

SECONDS = 30


def frames(width: int, height: int) -> list:  # type: ignore[type-arg]
    source = open_source(CameraConfig(source="synthetic:walk_up_ring", width=width, height=height))
    source.open()
    return [source.read() for _ in range(int(SECONDS * 15))]


def main() -> None:
    cv2.setNumThreads(1)
    cfg = RecordConfig()
    for width, height in ((640, 480), (1280, 720)):
        video = frames(width, height)
        encoder = StreamEncoder.for_record(cfg, 15.0, (width, height))
        ring_peak = total = 0
        cpu0 = time.process_time()
        for frame in video:
            for fragment in encoder.feed(frame.main, frame.t):
                total += len(fragment.data)
            ring_peak = max(ring_peak, encoder.ring_bytes)
        cpu = time.process_time() - cpu0
        share = 100 * cpu / SECONDS
        per_minute = total / SECONDS * 60 / 1e6
        with tempfile.TemporaryDirectory() as tmp:
            done: list[tuple[float, ClipInfo]] = []
            recorder = Recorder(
                cfg,
                StorageConfig(),
                PrivacyConfig(),
                Path(tmp),
                15.0,
                (width, height),
                lambda clip, sink=done: sink.append((time.perf_counter(), clip)),
            )
            recorder.start()
            pushed_at = {}
            for frame in video:
                began = time.perf_counter()
                recorder.push(frame)
                pushed_at[frame.seq] = (began, time.perf_counter())
                if frame.seq == 10 * 15:
                    recorder.event_started("e", "motion", frame.t, time.time())
                if frame.seq == 20 * 15:
                    recorder.event_ended("e", frame.t, time.time(), 1.0, [])
            recorder.close()
            (finished, clip) = done[0]
            clip_end_t = clip.start_t + clip.seconds
            last = max(s for s, (b, e) in pushed_at.items() if b <= finished)
            finishing_ms = 1000 * (finished - pushed_at[last][0])
        print(
            f"{width}x{height}@15: encoding {share:4.1f} % of one core, "
            f"ring {ring_peak / 1e6:.2f} MB, "
            f"clip complete {clip_end_t - 20.0:.1f} s of video after the event's end "
            f"(post_seconds {cfg.post_seconds:g}) + {finishing_ms:.0f} ms to finish, "
            f"{per_minute:.1f} MB per minute"
        )


if __name__ == "__main__":
    main()
