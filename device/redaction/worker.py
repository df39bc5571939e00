"""The device's redaction worker: a share's files redacted as uplink/requests/redaction_worker.py
does, faces and also the heads of people whose faces are not found (people.py). The device
passes this module to its WorkerRedactor; it runs as

    python -m doorbell.device.redaction.worker '{"model": null, "files": [[src, dst]], ...}'
"""

from __future__ import annotations

import sys

from doorbell.device.redaction.people import open_person_finder
from doorbell.uplink.requests.redaction_worker import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:], people=open_person_finder))
