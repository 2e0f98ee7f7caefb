"""The GPU path cannot run here, so it is checked statically: its pins must agree with the CPU pins."""
from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, version

import pytest
import yaml
from packaging.markers import Marker

from conftest import REPO

SHARED = ["merlin-core", "merlin-dataloader", "merlin-models", "nvtabular", "tensorflow-metadata", "protobuf",
          "dask", "distributed", "pandas", "numpy", "pyarrow", "numba", "ipython", "jupyterlab", "nbval"]


def _pins(path, python: str = "3.11") -> dict[str, str]:
    """name -> version of the pins that apply to `python` (lines may carry a `; python_version …` marker)."""
    pins = {}
    for line in (REPO / path).read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)\s*(?:;(.*))?$", line.strip())
        if m and (m.group(3) is None or Marker(m.group(3)).evaluate({"python_version": python})):
            name = m.group(1).lower().replace("_", "-")
            assert name not in pins, f"{path}: two pins of {name} apply to Python {python}"
            pins[name] = m.group(2)
    return pins


def _conda_pins() -> dict[str, str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pins = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            m = re.match(r"^([A-Za-z0-9_.\-]+)==?([^\s]+)$", item)
            if m:
                pins[m.group(1).lower()] = m.group(2)
    return pins


def test_cpu_pins_are_exact_and_complete():
    req = _pins("requirements.txt")
    lock = _pins("constraints.txt")
    assert {"tensorflow-cpu", "merlin-models", "merlin-core", "merlin-dataloader", "nvtabular"} <= set(req)
    # the Merlin packages other than merlin-models move together (one release line)
    assert len({req[pkg] for pkg in ("merlin-core", "merlin-dataloader", "nvtabular")}) == 1
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert "==" in line, f"requirements.txt pin is not exact: {line}"
    for pkg, version in req.items():  # the lock must not contradict the top-level pins
        assert lock.get(pkg, version) == version, pkg


def test_conda_environment_agrees_with_cpu_pins():
    conda = _conda_pins()
    cpu = {**_pins("constraints.txt"), **_pins("requirements.txt")}
    assert conda["python"] in ("3.10", "3.11")  # the Pythons the CPU lock supports (test below)
    assert conda["tensorflow"] == cpu["tensorflow-cpu"]
    rapids = {conda[pkg] for pkg in ("cudf", "dask-cudf", "dask-cuda", "rmm")}
    assert len(rapids) == 1, rapids  # one RAPIDS release line, the one of the GPU container the README names
    assert f"merlin-tensorflow:{rapids.pop()}" in (REPO / "README.md").read_text()
    assert "cudatoolkit" in conda
    for pkg in SHARED:
        assert conda[pkg] == cpu[pkg], f"{pkg}: environment.yml {conda[pkg]} vs CPU pins {cpu[pkg]}"


@pytest.mark.parametrize("python", ["3.10", "3.11"])
def test_each_supported_python_gets_one_exact_pin_per_package(python):
    lock = _pins("constraints.txt", python)  # two pins applying to one Python fail inside _pins
    other = _pins("constraints.txt", "3.11" if python == "3.10" else "3.10")
    assert set(other) - set(lock) <= {"exceptiongroup"}, "a package pinned for one Python only"
    for pkg in ("typing-extensions", "merlin-models", "tensorflow-cpu"):  # the pins that matter agree across Pythons
        assert lock[pkg] == other[pkg], pkg


def test_this_environment_is_the_lock():
    """What runs the tests is what constraints.txt pins for this Python (make venv installs it)."""
    python = "%d.%d" % sys.version_info[:2]
    assert python in ("3.10", "3.11")
    wrong = {}
    required = _pins("requirements.txt", python)
    for pkg, pinned in {**_pins("constraints.txt", python), **required}.items():
        try:
            installed = version(pkg)
        except PackageNotFoundError:
            installed = "missing"
        if installed == "missing" and python != "3.11" and pkg not in required:
            continue  # the lock is a 3.11 freeze: a dependency 3.10's releases do not need (lazy-importer) is absent
        if installed != pinned:
            wrong[pkg] = f"{installed} installed, {pinned} pinned"
    assert not wrong, wrong
