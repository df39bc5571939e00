"""The device's side of filling footage that leaves the home (uplink/requests/redaction.py):
`people` finds people with the event classifier's detector, so that the heads of those whose
faces are not found are filled too; `worker` is the redaction worker process that uses it.
"""

# The worker's entry point, run as `python -m WORKER JOB` by the device's WorkerRedactor.
WORKER = "doorbell.device.redaction.worker"
