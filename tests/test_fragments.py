"""The muxer's output cut into an init segment and fragments, however it splits its writes."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from doorbell.device.recording.fragment_ring import FRAGMENTED
from doorbell.device.recording.fragments import BoxStream, _boxes

FPS, GOP = 10, 5


@pytest.fixture(scope="module")
def muxed() -> bytes:
    """Two seconds of fragmented MP4 (a fragment per keyframe, every 0.5 s), as the muxer wrote
    it, byte for byte."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4", options=FRAGMENTED) as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0"}
        rng = np.random.default_rng(0)
        for seq in range(2 * FPS):
            picture = rng.integers(0, 255, (48 * 3 // 2, 64), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            frame.pts = seq
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def expected(data: bytes) -> tuple[bytes, list[bytes]]:
    """The init segment and the moof + mdat pairs of a whole file, read box by box."""
    init, fragments, moof = b"", [], b""
    for kind, pos, size in _boxes(data):
        box = data[pos : pos + size]
        if kind in ("ftyp", "moov"):
            init += box
        elif kind == "moof":
            moof = box
        elif kind == "mdat":
            fragments.append(moof + box)
    return init, fragments


@pytest.mark.parametrize("piece", [1, 7, 8, 13, 4096, 0])
def test_fragments_come_out_whole_however_the_writes_are_split(muxed: bytes, piece: int) -> None:
    init, fragments = expected(muxed)
    assert len(fragments) == 4
    boxes = BoxStream()
    step = piece or len(muxed)  # 0: all of it in one write
    for start in range(0, len(muxed), step):
        assert boxes.write(muxed[start : start + step]) == len(muxed[start : start + step])
    assert bytes(boxes.init) == init
    assert [bytes(f) for f in boxes.take()] == fragments
    assert boxes.take() == []


def test_a_box_with_a_64_bit_size_is_followed(muxed: bytes) -> None:
    init, fragments = expected(muxed)
    _, pos, size = next((k, p, s) for k, p, s in _boxes(muxed) if k == "mdat")
    wide = b"\0\0\0\1mdat" + (size + 8).to_bytes(8, "big") + muxed[pos + 8 : pos + size]
    boxes = BoxStream()
    for start in range(0, pos, 5):
        boxes.write(muxed[start : min(start + 5, pos)])
    for start in range(0, len(wide), 3):
        boxes.write(wide[start : start + 3])
    assert bytes(boxes.init) == init
    first = boxes.take()[0]
    assert first[: len(fragments[0]) - size] == fragments[0][:-size]  # the moof
    assert first[len(fragments[0]) - size :] == wide
