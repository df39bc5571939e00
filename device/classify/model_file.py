"""Where the detector's model lives, and what a device without it (or without the runtime) does:
says so in one line and runs on motion alone, every event labelled `unknown`.

The model is never fetched at run time: `./dev.sh install` takes it from the npm package
`@mediapipe/objectron` (the SSD-MobileNetV2 trained on OpenImages v4, Apache-2.0; the package
packs it with its label map in one file), checks its sha256 and puts it, the label map, the
package's package.json and the licence under the venv, in `share/doorbell/models/`, and makes
beside it the same model with int8 convolution weights (`int8_weights`): what runs where the CPU
has no fp16 arithmetic (a Pi 4), 13 MB less private memory than the fp16 file in fp32.
"""

from __future__ import annotations

import logging
from pathlib import Path

from doorbell.config.classify import ClassifyConfig
from doorbell.device.classify import runtime
from doorbell.device.classify.classifier import Classifier
from doorbell.device.classify.int8_weights import (
    FP16_SHA256,
    fp16_problem_once,
    fp32_model,
    int8_problem_once,
    label_names,
)
from doorbell.device.classify.model_paths import FP16_NAME, INT8_NAME, default_model, labels_of
from doorbell.device.classify.ssd import SsdDetector

log = logging.getLogger(__name__)

MODEL_NAME = FP16_NAME
MODEL_SHA256 = FP16_SHA256  # MediaPipe's own pin of the file; ./dev.sh checks it too
__all__ = ["MODEL_NAME", "MODEL_SHA256", "default_model", "labels_of", "open_classifier"]


def open_classifier(cfg: ClassifyConfig) -> Classifier | None:
    """The classifier, or None after one log line saying why events will be `unknown`."""
    if not cfg.enabled:
        log.info("classification off (classify.enabled: false): events are labelled unknown")
        return None
    model = cfg.model or default_model()
    fp16 = runtime.cpu_has_fp16()
    if cfg.model is None and not fp16:  # the fp32 Interpreter: the int8 model beside, if intact
        model = fp32_model(model)
    why = _missing(model)
    # A file of a shipped model's name, wherever it is (classify.model too), is held to its pin:
    # the fp16 one to MediaPipe's, the int8 one to the sha256 written beside it at install time.
    if why is None and model.name == FP16_NAME:
        why = fp16_problem_once(model)
    elif why is None and model.name == INT8_NAME and cfg.model is not None:  # (else fp32_model's)
        why = int8_problem_once(model)
    if why is None:
        try:
            names = label_names(model)  # (the bytes held to the pin, when shipped)
            detector = SsdDetector(model, names, fp16=fp16)
        except ImportError:
            why = "the runtime ai-edge-litert is not installed (no wheel for this machine)"
        except (OSError, ValueError, RuntimeError) as exc:
            why = f"model {model} not usable: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        else:
            return Classifier(detector, cfg.max_crops)
    log.warning("classification off: %s; running on motion alone, events labelled unknown", why)
    return None


def _missing(model: Path) -> str | None:
    if not model.is_file():
        hint = " (./dev.sh install puts it there)" if model == default_model() else ""
        return f"no model at {model}{hint}"
    if not labels_of(model).is_file():
        return f"no label map at {labels_of(model)}"
    return None
