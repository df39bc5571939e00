"""The Pi camera path against a stand-in that follows picamera2's names and threads.

There is no Pi camera here: `tests/support/picamera2_standin.py` is picamera2's interface with a
library scenario behind it and libx264 in place of the hardware encoder. What is tested is ours:
the source, the masks burned in by `pre_callback`, and clips cut from what the encoder produced.
"""

from __future__ import annotations

import io
import itertools
import sys
import threading
import time
import types
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from doorbell.config.camera import CameraConfig
from doorbell.config.record import RecordConfig
from doorbell.config.schema import DoorbellConfig
from doorbell.device.emulation.synthetic_source import SyntheticSource
from doorbell.device.recording import recorder as recorder_module
from doorbell.device.recording.clip import ClipInfo
from doorbell.device.recording.masks import PrivacyMask
from doorbell.device.recording.picamera2_stream import camera_stream, has_picture
from doorbell.device.runtime.run_options import RunOptions
from doorbell.device.runtime.startup import open_device
from doorbell.device.sources import SourceError, open_source
from doorbell.device.sources import picamera2 as picamera2_module
from doorbell.device.sources.faults import SourceDisconnected
from doorbell.device.sources.picamera2 import OFF_PI, Picamera2Source
from doorbell.device.storage.index import EventIndex
from doorbell.motion.events import MotionEvent
from tests.support import picamera2_standin


def test_picamera2_off_a_pi_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails as it does off a Pi
    source = open_source(CameraConfig(source="picamera2"))
    with pytest.raises(SourceError) as err:
        source.open()
    assert str(err.value) == OFF_PI


def test_picamera2_without_a_camera_attached_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_camera() -> None:
        raise IndexError("list index out of range")  # what Picamera2() does with no camera

    module = types.ModuleType("picamera2")
    module.Picamera2 = no_camera  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    source = open_source(CameraConfig(source="picamera2"))
    with pytest.raises(SourceError) as err:
        source.open()
    assert "cannot start the camera (list index out of range)" in str(err.value)
    assert "\n" not in str(err.value)


def test_picamera2_source_reads_main_and_lores_of_one_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    camera_class = picamera2_standin.install(monkeypatch)
    source = Picamera2Source(CameraConfig(source="picamera2", fps=15, exposure_us=10000))
    source.open()
    frames = [source.read() for _ in range(3)]
    source.close()
    (cam,) = camera_class.made
    assert cam.config["main"] == {"size": (1280, 720), "format": "YUV420"}
    assert cam.config["lores"] == {"size": (320, 240), "format": "YUV420"}
    assert cam.config["controls"] == {"FrameRate": 15}
    assert cam.calls == ["set_controls {'ExposureTime': 10000}", "start", "stop", "close"]
    first = frames[0]
    assert first is not None and first.main.shape == (720 * 3 // 2, 1280)  # I420, as it comes
    assert first.lores.shape == (240, 320)  # the Y plane only, not the chroma below it
    # Main and lores are one moment: the lores is the main's luma, scaled down.
    luma = cv2.resize(first.main[:720], (320, 240), interpolation=cv2.INTER_AREA)
    assert np.abs(luma.astype(int) - first.lores.astype(int)).mean() < 6
    # Frame times are the sensor's: 0 at the first frame, then whole frame intervals apart.
    times = [f.t for f in frames if f is not None]
    assert times[0] * 15 == pytest.approx(round(times[0] * 15))
    assert all(b > a for a, b in itertools.pairwise(times))
    assert all(
        (b - a) * 15 == pytest.approx(round((b - a) * 15)) for a, b in itertools.pairwise(times)
    )


def test_main_and_lores_rows_padded_to_64_bytes_are_cut_to_the_picture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    picamera2_standin.install(monkeypatch)
    camera = CameraConfig(
        source="picamera2", width=360, height=240, lores_width=300, lores_height=200
    )  # rows of 384 bytes for main, 320 for lores
    with Picamera2Source(camera) as source:
        frame = source.read()
    assert frame is not None and frame.lores.shape == (200, 300)
    assert frame.main.shape == (360, 360) and (frame.width, frame.height) == (360, 240)
    # The stand-in's picture at that frame's time (on a busy machine the first read may find
    # the second frame: the stand-in keeps only the newest).
    synthetic = SyntheticSource("walk_up_ring", camera)
    reference = synthetic.read()
    while reference is not None and reference.t < frame.t - 1e-6:
        reference = synthetic.read()
    assert reference is not None and reference.t == pytest.approx(frame.t)
    # Luma and both chroma planes line up with the picture, no padding in them.
    assert np.abs(frame.bgr().astype(int) - reference.bgr().astype(int)).mean() < 2
    luma = cv2.resize(frame.main[:240], (300, 200), interpolation=cv2.INTER_AREA)
    assert np.abs(luma.astype(int) - frame.lores.astype(int)).mean() < 6


def test_a_camera_that_stops_delivering_is_a_disconnect_not_a_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    camera_class = picamera2_standin.install(monkeypatch)
    monkeypatch.setattr(picamera2_module, "STALL_SECONDS", 0.3)
    with Picamera2Source(CameraConfig(source="picamera2", width=320, height=240)) as source:
        assert source.read() is not None
        camera_class.made[0].paused.set()
        began = time.monotonic()
        with pytest.raises(SourceDisconnected):  # after the frame waiting and one in the making
            for _ in range(3):
                source.read()
        assert time.monotonic() - began < 2.0
        camera_class.made[0].paused.clear()
        assert source.read() is not None  # and it comes back


@pytest.mark.parametrize("split_headers", [False, True])
def test_every_encoded_frame_lands_in_a_fragment_even_with_headers_apart(
    monkeypatch: pytest.MonkeyPatch, split_headers: bool
) -> None:
    camera_class = picamera2_standin.install(monkeypatch)
    monkeypatch.setattr(camera_class, "speed", 8.0)
    camera = CameraConfig(source="picamera2", width=320, height=240, fps=15)
    with Picamera2Source(camera) as source:
        stream = camera_stream(source, RecordConfig(pre_seconds=30), PrivacyMask([]))
        assert stream is not None
        (encoder,) = camera_class.made[0].encoders_started
        encoder.split_headers = split_headers
        deadline = time.monotonic() + 30
        while encoder.frames < 12 * 15 and time.monotonic() < deadline:  # 12 s of video
            time.sleep(0.05)
        fragments = stream.feed(np.zeros(1), 0.0)
        init = stream.init_segment
        fragments += stream.close()
    assert len(fragments) >= 10
    assert [f.first_t for f in fragments] == pytest.approx(
        [i * 1.0 for i in range(len(fragments))], abs=0.07
    )
    video = init + b"".join(bytes(f.data) for f in fragments)
    with av.open(io.BytesIO(video)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == sum(f.frames for f in fragments) == encoder.frames


def test_has_picture_tells_slices_from_parameter_sets() -> None:
    sps, pps, idr, p = (
        b"\x00\x00\x00\x01" + bytes([t]) + b"\x11" for t in (0x67, 0x68, 0x65, 0x41)
    )
    assert not has_picture(sps + pps) and has_picture(sps + pps + idr) and has_picture(p)


MASK = [[0.0, 0.0], [0.3, 0.0], [0.3, 0.4], [0.0, 0.4]]


def test_clips_come_from_picamera2s_encoder_with_pre_roll_and_masks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    camera_class = picamera2_standin.install(monkeypatch)
    python_encoders: list[object] = []
    real_encoder = recorder_module.StreamEncoder

    def counted(*args: object, **kwargs: object) -> object:
        python_encoders.append(args)
        return real_encoder(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(recorder_module, "StreamEncoder", counted)
    data = tmp_path / "data"
    config = DoorbellConfig.model_validate(
        {
            "device": {"id": "pi", "data_dir": str(data)},
            "mqtt": {"port": 1, "embedded": False},  # no broker: alerts wait in the outbox
            "camera": {"source": "picamera2", "width": 320, "height": 240, "fps": 15},
            "record": {"bitrate": 400_000},
            "privacy": {"masks": [{"name": "neighbour", "points": MASK}]},
        }
    )
    device = open_device(config, RunOptions(duration=34.0, echo=lambda line: None))
    # The stand-in runs faster than real time and a live camera's wall time is the host's, so
    # clip and event are compared in frame time, as the motion events and clips report it.
    ended: list[MotionEvent] = []
    clips: list[ClipInfo] = []
    on_ended, on_clip = device.reactions._motion_ended, device.recorder.on_clip
    device.reactions._motion_ended = lambda event, frame: (
        ended.append(event),
        on_ended(event, frame),
    )  # type: ignore[method-assign]
    device.recorder.on_clip = lambda clip: (clips.append(clip), on_clip(clip))
    runner = threading.Thread(target=device.run)
    runner.start()
    runner.join(120)
    assert not runner.is_alive()

    (cam,) = camera_class.made
    assert not python_encoders  # the recorder never encoded a frame in Python
    (encoder,) = cam.encoders_started
    assert (encoder.bitrate, encoder.repeat, encoder.iperiod) == (400_000, True, 15)
    assert encoder.framerate == 15  # picamera2's rate control would assume 30
    assert "start_encoder main" in cam.calls and "stop_encoder" in cam.calls

    (event,) = ended
    (info,) = clips
    # From the keyframe at or before the event's start - pre_seconds (3 s, 1 s keyframes)...
    assert 3.0 - 1e-6 <= event.start_t - info.start_t <= 4.0 + 1e-6
    # ...to post_seconds (5 s) after its end, cut at a keyframe.
    assert 5.0 - 1e-6 <= info.start_t + info.seconds - event.end_t <= 6.0 + 1e-6
    (clip,) = EventIndex(data / "index.sqlite").clips()
    assert clip.state == "complete" and clip.sha256 == info.sha256 and clip.frames == info.frames

    with av.open(str(data / clip.file)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    assert len(frames) == clip.frames == round(clip.seconds * 15)
    hidden = np.zeros((240, 320), np.uint8)
    cv2.rectangle(hidden, (0, 0), (int(0.3 * 320) - 1, int(0.4 * 240) - 1), 255, -1)
    inside = cv2.erode(hidden, np.ones((5, 5), np.uint8)) > 0
    assert max(int(f[inside].max()) for f in frames) <= 8, data  # burned in before the encoder
    assert min(float(f[hidden == 0].mean()) for f in frames) > 40  # the rest is a picture
