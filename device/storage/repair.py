"""After a crash: partial clips that decode are kept as `damaged`, the rest deleted.

Runs at start, before anything is recorded. Afterwards the index lists only files that exist.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import av

from doorbell.config.data_dir import DataDir
from doorbell.device.storage.index import EventIndex

log = logging.getLogger(__name__)
PARTIAL = ".partial"


@dataclass
class RepairReport:
    kept_damaged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    missing_rows: list[str] = field(default_factory=list)
    # events whose clip was still being written at the crash (kept damaged or deleted above)
    cut_short_events: list[str] = field(default_factory=list)


def decodable_frames(path: Path) -> tuple[int, float]:
    """Frames PyAV can decode from `path` and the seconds they span (0 when none)."""
    frames, last = 0, 0.0
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                frames += 1
                last = float(frame.time or 0.0)
    except (av.error.FFmpegError, OSError, ValueError):
        pass
    return frames, last


def repair(index: EventIndex, data_dir: Path, fps: float) -> RepairReport:
    report = RepairReport()
    for clip in index.clips(state="recording"):
        report.cut_short_events += [e.id for e in index.events_of_clip(clip.id)]
        final = data_dir / clip.file
        partial = final.with_name(final.name + PARTIAL)
        source = partial if partial.exists() else final
        frames, _ = decodable_frames(source) if source.exists() else (0, 0.0)
        if frames == 0:
            source.unlink(missing_ok=True)
            index.delete_clip(clip.id)  # the event stays, without a clip
            report.deleted.append(clip.id)
            log.warning("clip %s did not survive the crash; its event is kept", clip.id)
            continue
        source.replace(final)
        data = final.read_bytes()
        index.finish_clip(
            clip.id,
            clip.file,
            clip.start_wall + frames / fps,
            frames / fps,
            frames,
            len(data),
            hashlib.sha256(data).hexdigest(),
            state="damaged",
        )
        report.kept_damaged.append(clip.id)
        log.warning("clip %s was cut short by a crash: kept %d frames", clip.id, frames)
    for clip in index.clips():
        if not (data_dir / clip.file).exists():
            index.delete_clip(clip.id)
            report.missing_rows.append(clip.id)
    known = {(data_dir / c.file).name for c in index.clips()}
    for leftover in DataDir(data_dir).clips.glob(f"*{PARTIAL}"):
        if leftover.name.removesuffix(PARTIAL) not in known:
            leftover.unlink()
            report.deleted.append(leftover.name)
    return report
