"""The device's redaction worker: a share's files redacted as uplink/requests/redaction_worker.py
does, faces and also the heads of people whose faces are not found (people.py), found by the
person model the device names in the job. The device passes this module to its WorkerRedactor;
it runs as

    python -m doorbell.device.redaction.worker '{"model": null, "files": [[src, dst]], ...}'
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from doorbell.uplink.requests.redaction_worker import main

if TYPE_CHECKING:  # every pass runs this module; the people pass alone needs this one
    from doorbell.uplink.requests.person_pass import ModelPersonFinder


def person_finder(model: Path) -> ModelPersonFinder | None:
    """The person finder, imported by the people pass alone: the passes after it (each a
    process of its own) never load OpenCV's resize or the detector's runtime for it."""
    from doorbell.device.redaction.people import open_person_finder

    return open_person_finder(model)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:], people=person_finder))
