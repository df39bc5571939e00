"""picamera2 where there is no Pi camera: the names the device uses, with picamera2's threads.

`install(monkeypatch)` puts `picamera2`, `picamera2.encoders` and `picamera2.outputs` in
`sys.modules`. Like picamera2, a camera thread takes each frame, runs `pre_callback` on it, hands
it to every started encoder, then to `capture_request()`; an encoder calls its outputs'
`outputframe(frame, keyframe, timestamp)` with microseconds since its first frame and keeps that
first sensor timestamp in `firsttimestamp`. Frames come from a library scenario (looped); the
"hardware" H.264 encoder is libx264 through PyAV, Annex B with SPS/PPS before every keyframe, as
`H264Encoder(repeat=True)` gives. The arrays and metadata keys are picamera2's: "RGB888" is BGR
in numpy, "YUV420" is the Y plane then U and V with rows padded to a 64-byte stride (as on the
Pi; `make_array` keeps the padding), "SensorTimestamp" in nanoseconds.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
import types
from fractions import Fraction
from typing import Any, ClassVar

import av
import numpy as np
import pytest

from doorbell.config.camera import CameraConfig
from doorbell.device.emulation.synthetic_source import SyntheticSource
from doorbell.device.runtime.frame import Frame, packed, planes

BOOT_NS = 7_000_000_000_000  # the sensor clock does not start at zero


class Output:
    def __init__(self, pts: Any = None) -> None:
        self.recording = False

    def start(self) -> None:
        self.recording = True

    def stop(self) -> None:
        self.recording = False

    def outputframe(
        self,
        frame: bytes,
        keyframe: bool = True,
        timestamp: int | None = None,
        packet: Any = None,
        audio: bool = False,
    ) -> None:
        pass


class CompletedRequest:
    def __init__(self, arrays: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
        self.arrays, self.metadata = arrays, metadata
        self.released = False

    def make_array(self, name: str) -> np.ndarray:
        return self.arrays[name].copy()

    def get_metadata(self) -> dict[str, Any]:
        return dict(self.metadata)

    def release(self) -> None:
        self.released = True


class MappedArray:
    """The request's own buffer, written in place (as on the Pi, before the encoder reads it)."""

    def __init__(self, request: CompletedRequest, stream: str) -> None:
        self.array = request.arrays[stream]

    def __enter__(self) -> MappedArray:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class H264Encoder:
    def __init__(
        self,
        bitrate: int | None = None,
        repeat: bool = True,
        iperiod: int | None = None,
        framerate: float | None = None,
    ) -> None:
        self.bitrate, self.repeat, self.iperiod = bitrate, repeat, iperiod
        self.framerate = framerate or 30.0  # picamera2's own default when none is given
        self.size = (0, 0)
        self.split_headers = False  # SPS/PPS in a buffer of their own before a keyframe
        self.firsttimestamp: int | None = None
        self.frames = 0
        self._output: list[Output] = []
        self._codec: Any = None

    @property
    def output(self) -> Output | list[Output]:
        return self._output[0] if len(self._output) == 1 else self._output

    @output.setter
    def output(self, value: Output) -> None:
        if not isinstance(value, Output):
            raise RuntimeError("Must pass Output")  # picamera2 takes nothing else
        self._output = [value]

    def start(self) -> None:
        self.firsttimestamp = None
        codec = av.CodecContext.create("libx264", "w")
        codec.width, codec.height = self.size
        codec.pix_fmt = "yuv420p"
        codec.time_base = Fraction(1, 1_000_000)
        codec.framerate = Fraction(self.framerate).limit_denominator(1001)  # for rate control
        codec.bit_rate = self.bitrate or 1_000_000
        codec.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "g": str(self.iperiod or 30),
            "keyint_min": str(self.iperiod or 30),
            "sc_threshold": "0",
        }
        self._codec = codec
        for out in self._output:
            out.start()

    def encode(self, stream: str, request: CompletedRequest) -> None:
        ts = request.metadata["SensorTimestamp"] // 1000
        if self.firsttimestamp is None:
            self.firsttimestamp = ts
        array = request.arrays[stream]
        if array.ndim == 3:  # RGB888
            frame = av.VideoFrame.from_ndarray(array, format="bgr24")
        else:  # YUV420, rows padded: the encoder reads the picture, not the padding
            frame = av.VideoFrame.from_ndarray(packed(array, self.size[0]), format="yuv420p")
        frame.pts = ts - self.firsttimestamp
        self._output_packets(self._codec.encode(frame))
        self.frames += 1

    def _output_packets(self, packets: list[Any]) -> None:
        for packet in packets:  # picamera2 passes all five, positionally
            data = bytes(packet)
            if self.split_headers and packet.is_keyframe:
                cut = data.find(b"\x00\x00\x01\x65")  # the IDR slice (NAL type 5)
                cut -= 1 if cut > 0 and data[cut - 1] == 0 else 0  # a 4-byte start code
                header, data = data[:cut], data[cut:]
                for out in self._output:
                    out.outputframe(header, True, packet.pts, None, False)
            for out in self._output:
                out.outputframe(data, packet.is_keyframe, packet.pts, packet, False)

    def stop(self) -> None:
        self._output_packets(self._codec.encode(None))
        for out in self._output:
            out.stop()


class Picamera2:
    made: ClassVar[list[Picamera2]] = []
    scenario = "walk_up_ring"
    speed = 4.0  # frames come this many times faster than real time

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self.pre_callback: Any = None
        self.encoders: list[H264Encoder] = []  # running now
        self.encoders_started: list[H264Encoder] = []
        self.calls: list[str] = []
        self._requests: queue.Queue[CompletedRequest] = queue.Queue(maxsize=1)  # the newest
        self._stop = threading.Event()
        self.paused = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        Picamera2.made.append(self)

    def create_video_configuration(self, main: dict, lores: dict, controls: dict) -> dict:
        return {"main": main, "lores": lores, "controls": controls}

    def configure(self, config: dict) -> None:
        self.config = config

    def set_controls(self, controls: dict) -> None:
        self.calls.append(f"set_controls {controls}")

    def start(self) -> None:
        self.calls.append("start")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def start_encoder(self, encoder: H264Encoder, output: Output, name: str = "main") -> None:
        self.calls.append(f"start_encoder {name}")
        encoder.output = output
        encoder.size = tuple(self.config[name]["size"])  # type: ignore[assignment]
        encoder.start()
        with self._lock:
            self.encoders.append(encoder)
            self.encoders_started.append(encoder)

    def stop_encoder(self, encoder: H264Encoder) -> None:
        self.calls.append("stop_encoder")
        with self._lock:
            self.encoders.remove(encoder)
        encoder.stop()

    def _run(self) -> None:
        width, height = self.config["main"]["size"]
        lores_w, lores_h = self.config["lores"]["size"]
        fps = self.config["controls"]["FrameRate"]
        camera = CameraConfig(
            source=f"synthetic:{self.scenario}",
            width=width,
            height=height,
            fps=fps,
            lores_width=lores_w,
            lores_height=lores_h,
            loop=True,
        )
        scene = SyntheticSource(self.scenario, camera)
        began = time.monotonic()
        while not self._stop.is_set():
            frame = scene.read()
            assert frame is not None
            lores = np.full((lores_h * 3 // 2, stride_of(lores_w)), 128, np.uint8)
            lores[:lores_h, :lores_w] = frame.lores
            ts = BOOT_NS + round(frame.t * 1e9)
            main = self._main(frame, width)
            request = CompletedRequest({"main": main, "lores": lores}, {"SensorTimestamp": ts})
            if self.pre_callback is not None:
                self.pre_callback(request)
            with self._lock:
                for encoder in self.encoders:
                    encoder.encode("main", request)
            if self._requests.full():  # nobody is reading fast enough: the oldest is recycled
                with contextlib.suppress(queue.Empty):
                    self._requests.get_nowait()
            self._requests.put(request)
            while self.paused.is_set() and not self._stop.is_set():  # a camera that stalls
                time.sleep(0.05)
            time.sleep(max(0.0, began + frame.t / self.speed - time.monotonic()))

    def _main(self, frame: Frame, width: int) -> np.ndarray:
        if self.config["main"]["format"] == "RGB888":
            return frame.bgr()
        main = np.zeros((frame.main.shape[0], stride_of(width)), np.uint8)
        for padded, plane in zip(planes(main, width), planes(frame.main), strict=True):
            padded[...] = plane
        return main

    def capture_request(self, wait: float | None = None) -> CompletedRequest:
        try:
            return self._requests.get(timeout=wait)
        except queue.Empty:
            raise TimeoutError from None  # what picamera2's job raises when `wait` runs out

    def capture_array(self, name: str = "main") -> np.ndarray:
        request = self.capture_request()
        try:
            return request.make_array(name)
        finally:
            request.release()

    def stop(self) -> None:
        self.calls.append("stop")
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def close(self) -> None:
        self.calls.append("close")


def stride_of(width: int) -> int:
    return (width + 63) // 64 * 64  # rows padded to 64 bytes, as on the Pi


def install(monkeypatch: pytest.MonkeyPatch) -> type[Picamera2]:
    """Make `import picamera2` (and its encoders and outputs) find this stand-in."""
    Picamera2.made = []
    module = types.ModuleType("picamera2")
    module.Picamera2 = Picamera2  # type: ignore[attr-defined]
    module.MappedArray = MappedArray  # type: ignore[attr-defined]
    encoders = types.ModuleType("picamera2.encoders")
    encoders.H264Encoder = H264Encoder  # type: ignore[attr-defined]
    outputs = types.ModuleType("picamera2.outputs")
    outputs.Output = Output  # type: ignore[attr-defined]
    module.encoders, module.outputs = encoders, outputs  # type: ignore[attr-defined]
    for name, mod in (
        ("picamera2", module),
        ("picamera2.encoders", encoders),
        ("picamera2.outputs", outputs),
    ):
        monkeypatch.setitem(sys.modules, name, mod)
    return Picamera2
