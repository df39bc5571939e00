"""Pass-through recording: the camera's own H.264 packets into the fragment ring, no encoder.

A file or RTSP camera that already sends H.264 is decoded for the detector only; what it sent is
muxed as it is into the same fragment ring the encoders fill (a fragment per keyframe), so the
recorder cuts clips from it the same way. Nothing is re-encoded: no encoder's CPU, no encoder's
buffers, and the clip is the camera's own picture. Frigate records cameras this way (`-c copy`).

Privacy masks must be burned into the picture, which only an encoder can do: with a mask
configured the recorder encodes as before (`passthrough_stream` returns None), and a mask drawn
on the page while passing through makes the recorder switch to its encoder (`Recorder.push`).

The camera's keyframe interval is the fragment's length: with a 10 s GOP a clip starts up to 10 s
before its pre-roll, and the ring keeps `ring_seconds` plus whole keyframe intervals (memory: the
camera's bitrate times that).
"""

from __future__ import annotations

from typing import Any

import av

from doorbell.config.record import RecordConfig
from doorbell.device.recording.camera_fragments import CameraFragments
from doorbell.device.recording.fragment_ring import FragmentRing
from doorbell.device.recording.fragments import Fragment
from doorbell.device.recording.masks import PrivacyMask
from doorbell.device.sources.base import Source
from doorbell.device.sources.faults import FaultySource
from doorbell.device.sources.opencv import OpenCvSource

PASSES_THROUGH = {"h264"}  # what browsers play in MP4 and the clips' readers expect


def passthrough_stream(
    source: Source, record: RecordConfig, mask: PrivacyMask
) -> PassthroughStream | None:
    """The source's own packets as the recorder's stream, when it sends H.264 and no mask has to
    be burned in; else None (the recorder encodes the frames itself)."""
    camera = source.inner if isinstance(source, FaultySource) else source
    if not isinstance(camera, OpenCvSource) or camera.codec not in PASSES_THROUGH or mask:
        return None
    stream = PassthroughStream(record.ring_seconds)
    camera.on_packet = stream.take
    return stream


class PassthroughStream(CameraFragments):
    """An `EncodedStream` fed by the capture thread with the camera's packets (`take`); the
    recording thread collects the fragments they completed (`feed`)."""

    def __init__(self, ring_seconds: float) -> None:
        super().__init__()
        self.ring_seconds = ring_seconds
        self._out: Any = None  # the ring's output stream
        self._closed = False
        self._input: Any = None  # the input stream the last packet came from
        self._shift = 0  # added to an input's timestamps so that they go on rising
        self._next_dts = 0  # the output's timestamps continue from here

    def take(self, packet: Any, t: float) -> None:
        """One packet of the frame shown at frame time `t` (the capture thread)."""
        with self._lock:
            if self._closed or (packet.dts is None and packet.pts is None):
                return  # closed, or a packet with nothing to place it by
            if self._fragments is None:
                if not packet.is_keyframe:
                    return  # nothing decodes before the first keyframe
                self._fragments = FragmentRing(self.ring_seconds)
                self._out = self._fragments.container.add_stream_from_template(packet.stream)
            if packet.stream is not self._input:  # a capture opened again (a loop, a reconnect)
                self._input = packet.stream
                first = packet.dts if packet.dts is not None else packet.pts
                self._shift = self._next_dts - (first or 0)
            self._completed(self._fragments.mux(self._copy(packet), t))

    def _copy(self, packet: Any) -> Any:
        """The packet for our muxer: a copy, since the capture decodes the original next (its
        stream is the decoder's), with timestamps that keep rising across captures."""
        dts = packet.dts if packet.dts is not None else packet.pts
        pts = packet.pts if packet.pts is not None else dts
        copy = av.Packet(bytes(packet))
        copy.pts, copy.dts = pts + self._shift, dts + self._shift
        copy.duration = packet.duration
        copy.time_base = packet.time_base  # the muxer rescales from it to the ring's own
        copy.is_keyframe = packet.is_keyframe
        copy.stream = self._out
        self._next_dts = copy.dts + max(packet.duration or 0, 1)
        return copy

    def close(self) -> list[Fragment]:
        with self._lock:
            self._closed = True
            return self._close_ring()
