"""Decide once whether the course runs on the GPU or the CPU, and say why.

GPU needs all three: a GPU is visible (nvidia-smi / NVML), cuDF imports, and TensorFlow lists a GPU.
`RECSYS_COURSE_DEVICE=cpu|gpu` overrides; forcing `gpu` where one of the three is missing is an error.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass

ENV_VAR = "RECSYS_COURSE_DEVICE"


class DeviceError(RuntimeError):
    """The requested device cannot be used on this machine."""


@dataclass(frozen=True)
class Device:
    kind: str  # "cpu" or "gpu"
    reason: str

    @property
    def is_gpu(self) -> bool:
        return self.kind == "gpu"

    def line(self) -> str:
        """The one line every notebook prints first."""
        from importlib.metadata import version

        import tensorflow as tf

        return f"device: {self.kind.upper()} ({self.reason}) · tensorflow {tf.__version__} · merlin-models {version('merlin-models')}"


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity, not the machine's total)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def gpu_visible() -> bool:
    """A GPU is visible to the driver (asked through nvidia-smi; no CUDA library is loaded)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def cudf_importable() -> bool:
    """cuDF is installed and imports (it fails to import where CUDA is missing or mismatched)."""
    if importlib.util.find_spec("cudf") is None:
        return False
    try:
        import cudf  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means no usable cuDF
        return False
    return True


def tf_sees_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def decide(env: dict[str, str] | None = None) -> Device:
    """The device decision, from the override or from what the machine has."""
    env = os.environ if env is None else env
    wanted = env.get(ENV_VAR, "").strip().lower()
    if wanted not in ("", "auto", "cpu", "gpu"):
        raise DeviceError(f"{ENV_VAR}={wanted!r} is not one of cpu, gpu, auto")
    if wanted == "cpu":
        return Device("cpu", f"forced by {ENV_VAR}=cpu")
    checks = (
        ("no GPU visible", gpu_visible),
        ("GPU visible but cuDF does not import", cudf_importable),
        ("GPU visible, cuDF imports, but TensorFlow sees no GPU", tf_sees_gpu),
    )
    for why_not, check in checks:
        if not check():
            if wanted == "gpu":
                raise DeviceError(
                    f"{ENV_VAR}=gpu but {why_not}. The GPU path needs the conda environment "
                    "(environment.yml) or the merlin-tensorflow:23.08 container on a machine with an NVIDIA GPU; "
                    f"unset {ENV_VAR} to run on the CPU."
                )
            return Device("cpu", why_not)
    return Device("gpu", f"forced by {ENV_VAR}=gpu" if wanted == "gpu" else "GPU visible, cuDF and TensorFlow GPU available")


@functools.lru_cache(maxsize=1)
def current() -> Device:
    """The decision for this process, made once."""
    return decide()
