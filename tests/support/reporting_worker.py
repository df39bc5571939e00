"""A share worker for tests, run as `python -m tests.support.reporting_worker JOB`: copies each
file, writes $TEST_PERSON_PASS as its person pass's report and $TEST_WORKER_STDERR on stderr, and
exits with $TEST_WORKER_EXIT (0), to check how the device takes what a worker says."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    for source, target in job["files"]:
        shutil.copyfile(source, target)
    Path(job["report"]).write_text(os.environ["TEST_PERSON_PASS"], encoding="utf-8")
    print(os.environ.get("TEST_WORKER_STDERR", ""), file=sys.stderr, end="")
    sys.exit(int(os.environ.get("TEST_WORKER_EXIT", "0")))
