"""What the classifier's model costs in memory and time, runtime by runtime (issue 26).

Each option runs in a fresh interpreter that has already imported numpy and OpenCV (as the device
has), so the growth printed is the runtime's own: its import, its copy of the weights, its
activations. Per option: time to load, median time of one 300x300 inference (single thread,
after two warm-up runs), and the growth of the process's RSS: now (steady), at its peak (VmHWM),
and split into private memory (RssAnon) and pages of mapped files (RssFile: the libraries' code
and the model file).

Options:
  interpreter         ai-edge-litert's Interpreter, XNNPACK (its default), model mapped from
                      its file: what the device did before this benchmark
  interpreter-release the same, and once XNNPACK has packed the weights the pages of the model
                      file and of the runtime's own code are handed back (madvise): what the
                      device does on a CPU without fp16 arithmetic (a Pi 4),
                      `doorbell.device.classify.runtime.load`
  interpreter-buffer  the same, the model read into a bytes buffer instead of mapped
  builtin             the Interpreter with TensorFlow Lite's builtin kernels, no XNNPACK
  compiled-fp32       ai-edge-litert's CompiledModel (LiteRT 2 API), XNNPACK, fp32
  compiled-fp16       CompiledModel with XNNPACK forced to fp16 (halves weights and
                      activations; needs fp16 arithmetic: x86 AVX2+F16C, ARMv8.2; not a Pi 4)
  compiled-fp16-file  the same, the model file's pages handed back: what the device did
                      before the runtime's code pages were handed back too and ml_dtypes left out
  compiled-fp16-release  the same, the pages of the model file and of the runtime's code
                      handed back, built without importing ml_dtypes: what the device does
                      where the CPU has fp16 arithmetic (this machine), `runtime.load`
  opencv-dnn          OpenCV's own DNN module reading the .tflite (no extra library at all)

Usage: python benchmarks/classify_memory.py [--runs 10] [--only OPTION ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = (
    "interpreter",
    "interpreter-release",
    "interpreter-buffer",
    "builtin",
    "compiled-fp32",
    "compiled-fp16",
    "compiled-fp16-file",
    "compiled-fp16-release",
    "opencv-dnn",
)
# TFLITE_XNNPACK_DELEGATE_FLAG_QS8 | QU8 (its defaults) | FORCE_FP16 | TRANSIENT_INDIRECTION_BUFFER
_FP16_FLAGS, _FP32_FLAGS = 0x1 | 0x2 | 0x4 | 0x20, 0x1 | 0x2 | 0x20


def _status() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[name] = int(value.split()[0]) / 1024
    return out


def _one(option: str, runs: int) -> dict[str, float]:
    """Measure one option in this (fresh) process."""
    import cv2
    import numpy as np

    from doorbell.device.classify.model_file import default_model

    model = default_model()
    picture = cv2.imread(str(ROOT / "tests" / "data" / "astronaut.jpg"))
    rgb = cv2.resize(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB), (300, 300))
    tensor = (rgb.astype(np.float32) * (2.0 / 255.0) - 1.0)[None]
    before = _status()
    began = time.perf_counter()
    if option.startswith("interpreter") or option == "builtin":
        if option == "interpreter-release":
            from doorbell.device.classify.runtime import load

            loaded = load(model, fp16=False)

            def run() -> None:
                loaded.run(tensor)

        else:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType

            kwargs: dict[str, object] = {"num_threads": 1}
            if option == "builtin":
                kwargs["experimental_op_resolver_type"] = (
                    OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
                )
            if option == "interpreter-buffer":
                kwargs["model_content"] = model.read_bytes()
            else:
                kwargs["model_path"] = str(model)
            interpreter = Interpreter(**kwargs)
            interpreter.allocate_tensors()
            index = interpreter.get_input_details()[0]["index"]

            def run() -> None:
                interpreter.set_tensor(index, tensor)
                interpreter.invoke()

    elif option == "compiled-fp16-release":
        from doorbell.device.classify.runtime import load

        loaded = load(model, fp16=True)

        def run() -> None:
            loaded.run(tensor)

    elif option.startswith("compiled"):
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator
        from ai_edge_litert.options import CpuOptions, Options

        flags = _FP16_FLAGS if option.startswith("compiled-fp16") else _FP32_FLAGS
        cpu = CpuOptions(num_threads=1, xnnpack_flags=flags)
        compiled = CompiledModel.from_file(
            str(model), options=Options(HardwareAccelerator.CPU, cpu_options=cpu)
        )
        inputs, outputs = compiled.create_input_buffers(0), compiled.create_output_buffers(0)

        def run() -> None:
            inputs[0].write(tensor)
            compiled.run_by_index(0, inputs, outputs)

        if option == "compiled-fp16-file":
            from doorbell.device.classify.runtime import release_mapped_pages

            release_mapped_pages(model)
            run()
            release_mapped_pages(model)

    else:
        cv2.setNumThreads(1)
        net = cv2.dnn.readNetFromTFLite(str(model))
        names = net.getUnconnectedOutLayersNames()
        blob = np.ascontiguousarray(tensor.transpose(0, 3, 1, 2))  # its NCHW input

        def run() -> None:
            net.setInput(blob)
            net.forward(names)

    run()
    load_seconds = time.perf_counter() - began
    run()
    times = []
    for _ in range(runs):
        began = time.perf_counter()  # a cost measurement, not a schedule
        run()
        times.append(time.perf_counter() - began)
    after = _status()
    return {
        "load_ms": 1000 * load_seconds,
        "median_ms": 1000 * sorted(times)[len(times) // 2],
        "rss": after["VmRSS"] - before["VmRSS"],
        "peak": after["VmHWM"] - before["VmHWM"],
        "anon": after["RssAnon"] - before["RssAnon"],
        "file": after["RssFile"] - before["RssFile"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", nargs="*", choices=OPTIONS, default=list(OPTIONS))
    parser.add_argument("--one", choices=OPTIONS, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.one:
        print(json.dumps(_one(opts.one, opts.runs)))
        return
    print(
        "classifier model (SSD-MobileNetV2 OpenImages v4, fp16 file, 300x300), one thread; "
        "growth over a process with numpy and OpenCV loaded:"
    )
    for option in opts.only:
        done = subprocess.run(
            [sys.executable, __file__, "--one", option, "--runs", str(opts.runs)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["?"])[-1]
            print(f"  {option:20s} failed: {why[:150]}")
            continue
        m = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"  {option:20s} load {m['load_ms']:5.0f} ms, {m['median_ms']:6.1f} ms a frame; "
            f"RSS +{m['rss']:4.1f} MB now, peak +{m['peak']:4.1f} MB "
            f"(private +{m['anon']:4.1f}, file pages +{m['file']:4.1f})"
        )


if __name__ == "__main__":
    main()
