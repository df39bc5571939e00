"""The model's runtime: a .tflite with one float input and float outputs, run on one thread, in as
little memory as this machine allows (benchmarks/classify_memory.py measures each way).

- Where the CPU does fp16 arithmetic (x86 with AVX2 and F16C, ARMv8.2 such as a Pi 5), LiteRT's
  CompiledModel with XNNPACK forced to fp16: the shipped weights are fp16 already, and weights and
  activations stay half the size of fp32 (private memory +24 MB instead of +37 MB; faster too).
- Elsewhere (a Pi 4's Cortex-A72 has no fp16 arithmetic), the classic Interpreter with XNNPACK in
  fp32, or if the CompiledModel cannot be built; and wherever a caller asks for fp32 (the
  redaction's person finder, validated in fp32: `SsdDetector`'s default). Callers give it the
  int8-weight model there when ./dev.sh made one (`int8_weights`: 13 MB less private memory).
- Either way, once the weights are packed into the runtime's own memory (after one inference),
  this process's pages of the mapped model file are handed back: they were 9.5 MB of RSS that no
  frame reads again; and so are those of the runtime's own code, most of which only builds a
  model (LiteRT's libraries kept 16 MB resident; a frame runs 3-4 MB of it).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import logging
import os
import sys
import types
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from doorbell.device.system.memory import release_freed_memory

log = logging.getLogger(__name__)

# TFLITE_XNNPACK_DELEGATE_FLAG_QS8 | _QU8 (XNNPACK's defaults) | _FORCE_FP16 |
# _TRANSIENT_INDIRECTION_BUFFER (indirection buffers built per run, not kept per layer)
XNNPACK_FP16_FLAGS = 0x1 | 0x2 | 0x4 | 0x20
_MADV_DONTNEED = 4  # Linux's <sys/mman.h>


@dataclass(frozen=True)
class TensorShape:
    name: str
    shape: tuple[int, ...]


@dataclass
class LoadedModel:
    """A model ready to run: `run(input)` gives its outputs, in `outputs`' order."""

    input: TensorShape
    outputs: list[TensorShape]
    run: Callable[[np.ndarray], list[np.ndarray]]
    kind: str  # which runtime, for the log and the benchmark


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """The runtime's C++ logger prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
    (and LiteRT's plugin search its misses) on the process's stderr as the model is built, and
    offers no switch for it: that would break a CLI's one-line errors and fill a journal. File
    descriptor 2 goes to /dev/null for those moments (errors still arrive, as exceptions)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).fflush(None)  # what the C library still holds goes to /dev/null
        os.dup2(saved, 2)
        os.close(saved)


def cpu_has_fp16() -> bool:
    """Whether XNNPACK can run fp16 here: ARM's half-precision SIMD, or x86's F16C with AVX2."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            flags = set(info.read().split())
    except OSError:
        return False
    return "asimdhp" in flags or {"f16c", "avx2"} <= flags


def runtime_libraries() -> list[Path]:
    """The directories of the runtime's own shared libraries (LiteRT's, and ml_dtypes' that its
    CompiledModel imports) where they are imported, for `release_mapped_pages`."""
    modules = (sys.modules.get(name) for name in ("ai_edge_litert", "ml_dtypes"))
    return [Path(m.__file__).resolve().parent for m in modules if m and m.__file__]


def release_mapped_pages(model: Path, libraries: Iterable[Path] = ()) -> int:
    """Hand back this process's resident pages of every clean read-only mapping of the file at
    `model` or of a file under one of `libraries`, and return how many mappings that was.

    A page handed back this way is still the file's, in the page cache: touched again, the
    kernel maps it again (that is why only read-only mappings with no private copy of a page are
    released: a relocated page would be lost). The model's file is read once, to pack its
    weights; most of a runtime library's code runs only while a model is built (LiteRT's
    18 MB library left 10 MB resident, of which an inference touches 3). Anything but Linux:
    nothing to do."""
    target = str(model.resolve())
    dirs = tuple(str(d) + os.sep for d in libraries)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        chosen = list(_clean_mappings(target, dirs))
    except OSError:
        return 0
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return sum(libc.madvise(s, e - s, _MADV_DONTNEED) == 0 for s, e in chosen)


def _clean_mappings(target: str, dirs: tuple[str, ...]) -> Iterator[tuple[int, int]]:
    """The address ranges of this process's read-only mappings of `target` or of a file under
    `dirs` that hold no privately copied page. Read line by line: the whole of smaps as one
    string is a megabyte or two of heap, in the middle of a model's build."""
    current: tuple[int, int] | None = None
    with open("/proc/self/smaps", encoding="utf-8") as smaps:
        for line in smaps:
            fields = line.split(maxsplit=5)
            if not fields[0].endswith(":"):  # a mapping's first line
                # address range, permissions, offset, device, inode, path; never a writable one
                current = None
                if len(fields) == 6 and "w" not in fields[1]:
                    path = fields[5].rstrip("\n")
                    if path == target or path.startswith(dirs):
                        start, end = (int(v, 16) for v in fields[0].split("-"))
                        current = (start, end)
            elif fields[0] == "Anonymous:" and current is not None:
                if int(fields[1]) == 0:
                    yield current
                current = None


def load(model: Path, fp16: bool | None = None) -> LoadedModel:
    """The model on this machine's leanest runtime (`fp16`: None asks the CPU). Raises
    ImportError without ai-edge-litert, ValueError or RuntimeError for a file it cannot run."""
    fp16 = cpu_has_fp16() if fp16 is None else fp16
    loaded = None
    with quiet_stderr():
        if fp16:
            try:
                loaded = _compiled_fp16(model)
            except (ImportError, RuntimeError, ValueError) as exc:  # an older wheel, a refusal
                log.debug("fp16 runtime unavailable (%s): the fp32 interpreter instead", exc)
        if loaded is None:
            loaded = _interpreter(model)
        # Built, the weights are packed (most of them): the file's pages and the code that built
        # them go before the first inference adds its activations (a lower peak), and again
        # after it, for the rest. Three walks of smaps a load (~4 ms each here), each worth it:
        # with the last one only, the peak was 7.8 MB higher (Interpreter) and 6.8 MB
        # (CompiledModel fp16); without the one before the build, 6.0 / 4.9 MB; without this
        # one, 1.9 / 1.9 MB (benchmarks/classify_memory.py, --only interpreter-release
        # compiled-fp16-release; the RSS after the load the same each way).
        release_mapped_pages(model, runtime_libraries())
        loaded.run(np.zeros(loaded.input.shape, np.float32))
    released = release_mapped_pages(model, runtime_libraries())
    release_freed_memory()  # what the build allocated and freed (the heap's free pages)
    log.debug("model %s on %s; %d mapping(s) released", model, loaded.kind, released)
    return loaded


def _interpreter(model: Path) -> LoadedModel:
    # Imported here: a device without the runtime (a 32-bit Pi) still imports this module.
    from ai_edge_litert.interpreter import Interpreter

    release_mapped_pages(model, runtime_libraries())  # what the import ran, before the build
    interpreter = Interpreter(model_path=str(model), num_threads=1)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    outs = interpreter.get_output_details()

    def run(tensor: np.ndarray) -> list[np.ndarray]:
        interpreter.set_tensor(inp["index"], tensor)
        interpreter.invoke()
        return [interpreter.get_tensor(o["index"]) for o in outs]

    return LoadedModel(
        TensorShape(inp["name"], tuple(int(d) for d in inp["shape"])),
        [TensorShape(o["name"], tuple(int(d) for d in o["shape"])) for o in outs],
        run,
        "interpreter (XNNPACK, fp32)",
    )


class _Compiled:
    """A CompiledModel and its buffers. LiteRT logs a line on stderr for each accelerator it
    destroys with a model (no switch turns that off): a model is let go of with stderr quiet,
    whether dropped on the way or alive at exit (`_let_go_quietly`)."""

    alive: ClassVar[weakref.WeakSet[_Compiled]] = weakref.WeakSet()

    def __init__(self, compiled: Any, shapes: list[tuple[int, ...]]) -> None:
        self.compiled: Any = compiled
        self.inputs: Any = compiled.create_input_buffers(0)
        self.outputs: Any = compiled.create_output_buffers(0)
        self.shapes, self.sizes = shapes, [int(np.prod(s)) for s in shapes]
        if not _Compiled.alive:
            atexit.register(_let_go_quietly)
        _Compiled.alive.add(self)

    def run(self, tensor: np.ndarray) -> list[np.ndarray]:
        self.inputs[0].write(np.ascontiguousarray(tensor, np.float32))
        self.compiled.run_by_index(0, self.inputs, self.outputs)
        return [
            np.asarray(buf.read(n, np.float32)).reshape(s)
            for buf, n, s in zip(self.outputs, self.sizes, self.shapes, strict=True)
        ]

    def let_go(self) -> None:
        self.compiled = self.inputs = self.outputs = None

    def __del__(self) -> None:
        # a model let go of on the way (a CLI's classifier when it is done): its accelerators'
        # log lines too go to /dev/null
        if self.compiled is not None:
            with quiet_stderr():
                self.let_go()


def _let_go_quietly() -> None:
    """At exit (registered once a CompiledModel is made): LiteRT's accelerators are destroyed
    with a log line each on stderr, the models' as they are let go of here and its own static
    registry's after Python has finished; stderr is /dev/null from here on, so those lines
    are not a CLI's last words (the program's own output and logs are written by now)."""
    sys.stderr.flush()
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 2)
    for model in list(_Compiled.alive):
        model.let_go()
    gc.collect()


def _import_without_ml_dtypes() -> None:
    """Import LiteRT's CompiledModel without ml_dtypes, unless something imported it already.

    Its tensor buffers (`ai_edge_litert.tensor_buffer`) import ml_dtypes only to put bfloat16
    and two float8 types in their table of dtype names; importing ml_dtypes registers its types
    and their casts with numpy: 5.9 MB of private memory, 84,000 objects, for types this model
    never sees (float32 in, float32 out). A stand-in whose three types are numpy's `void` is
    ml_dtypes for that import only, then taken out of `sys.modules`: whatever imports
    ml_dtypes later gets the real one (only LiteRT's table keeps the stand-in's names)."""
    if "ml_dtypes" in sys.modules or "ai_edge_litert.tensor_buffer" in sys.modules:
        return
    stand_in = types.ModuleType("ml_dtypes", "a stand-in: doorbell.device.classify.runtime")
    stand_in.bfloat16 = stand_in.float8_e4m3fn = stand_in.float8_e5m2 = np.void  # type: ignore[attr-defined]
    sys.modules["ml_dtypes"] = stand_in
    try:
        import ai_edge_litert.compiled_model  # noqa: F401
    finally:
        if sys.modules.get("ml_dtypes") is stand_in:
            del sys.modules["ml_dtypes"]


def _compiled_fp16(model: Path) -> LoadedModel:
    _import_without_ml_dtypes()
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator
    from ai_edge_litert.options import CpuOptions, Options

    release_mapped_pages(model, runtime_libraries())  # what the import ran, before the build
    cpu = CpuOptions(num_threads=1, xnnpack_flags=XNNPACK_FP16_FLAGS)
    compiled = CompiledModel.from_file(
        str(model), options=Options(HardwareAccelerator.CPU, cpu_options=cpu)
    )
    signature, names = next(iter(compiled.get_signature_list().items()))
    # in the signature's order, which is the order of the buffers made for it
    ins = [compiled.get_input_tensor_details(signature)[n] for n in names["inputs"]]
    outs = [compiled.get_output_tensor_details(signature)[n] for n in names["outputs"]]
    if len(ins) != 1 or any(t["dtype"] != "float32" for t in ins + outs):
        raise ValueError("not one float input and float outputs")
    shapes = [tuple(int(d) for d in t["shape"]) for t in outs]
    run = _Compiled(compiled, shapes).run
    del compiled
    return LoadedModel(
        TensorShape(ins[0]["name"], tuple(int(d) for d in ins[0]["shape"])),
        [TensorShape(t["name"], s) for t, s in zip(outs, shapes, strict=True)],
        run,
        "CompiledModel (XNNPACK, fp16)",
    )
