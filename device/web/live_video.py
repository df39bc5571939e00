"""Live video for the page without a second encoder: the recorder's own fragmented MP4 (the
init segment, then each fragment as the ring completes it) streamed to the browser's Media
Source Extensions. Masks are already burned into that stream. A browser that cannot take a
fragment within `WRITE_SECONDS` is dropped; the page then falls back to the JPEG refresh.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

from aiohttp import web

from doorbell.device.recording.encoded_stream import EncodedStream
from doorbell.device.recording.fragments import Fragment

WRITE_SECONDS = 5.0
POLL_SECONDS = 0.1


def avc_codec(init: bytes) -> str | None:
    """The RFC 6381 codec string of an H.264 init segment (`avc1.PPCCLL`, from its avcC box)."""
    at = init.find(b"avcC")
    if at < 4 or at + 8 > len(init):
        return None
    profile, compat, level = struct.unpack_from(">BBB", init, at + 5)
    return f"avc1.{profile:02X}{compat:02X}{level:02X}"


def _fragments(stream: EncodedStream) -> list[Fragment]:
    """A copy of the ring, which the recording thread appends to and trims meanwhile."""
    for _ in range(10):
        try:
            return list(stream.ring)
        except RuntimeError:  # mutated while copied: try again
            continue
    return []


class LiveVideo:
    def __init__(self, stream: Callable[[], EncodedStream | None]) -> None:
        self.stream = stream
        self.dropped = 0  # viewers dropped for not keeping up

    def codec(self) -> str | None:
        stream = self.stream()
        return avc_codec(stream.init_segment) if stream is not None and stream.ring else None

    async def serve(self, request: web.Request) -> web.StreamResponse:
        stream = self.stream()
        if stream is None or not stream.ring or not stream.init_segment:
            raise web.HTTPServiceUnavailable(text="no encoded stream (recording is off)")
        response = web.StreamResponse(
            headers={"Content-Type": "video/mp4", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        sent_t: float | None = None
        try:
            await asyncio.wait_for(response.write(stream.init_segment), WRITE_SECONDS)
            while self.stream() is stream:
                ring = _fragments(stream)
                # Start at the newest keyframe; then every fragment completed since.
                fresh = ring[-1:] if sent_t is None else [f for f in ring if f.first_t > sent_t]
                for fragment in fresh:
                    await asyncio.wait_for(response.write(bytes(fragment.data)), WRITE_SECONDS)
                    sent_t = fragment.first_t
                await asyncio.sleep(POLL_SECONDS)
        except TimeoutError:
            self.dropped += 1
        except ConnectionError:
            pass
        return response
