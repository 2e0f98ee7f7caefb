"""The GPU path cannot run here, so it is checked statically: its pins must agree with the CPU pins."""
from __future__ import annotations

import re

import yaml

from conftest import REPO

SHARED = ["merlin-core", "merlin-dataloader", "merlin-models", "nvtabular", "tensorflow-metadata", "protobuf",
          "dask", "distributed", "pandas", "numpy", "pyarrow", "numba", "ipython", "jupyterlab", "nbval"]


def _pins(path) -> dict[str, str]:
    pins = {}
    for line in (REPO / path).read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
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
    assert req["tensorflow-cpu"] == "2.12.1"
    for pkg in ("merlin-core", "merlin-dataloader", "merlin-models", "nvtabular"):
        assert req[pkg] == "23.8.0"
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert "==" in line, f"requirements.txt pin is not exact: {line}"
    for pkg, version in req.items():  # the lock must not contradict the top-level pins
        assert lock.get(pkg, version) == version, pkg
    assert lock["ipython"] == "8.22.2" and lock["dask"] == "2023.7.1" and lock["pandas"] == "1.5.3"


def test_conda_environment_agrees_with_cpu_pins():
    conda = _conda_pins()
    cpu = {**_pins("constraints.txt"), **_pins("requirements.txt")}
    assert conda["python"] == "3.10"
    assert conda["tensorflow"] == cpu["tensorflow-cpu"] == "2.12.1"
    for pkg in ("cudf", "dask-cudf", "dask-cuda", "rmm"):
        assert conda[pkg] == "23.08", pkg
    assert conda["cudatoolkit"] == "11.8"
    for pkg in SHARED:
        assert conda[pkg] == cpu[pkg], f"{pkg}: environment.yml {conda[pkg]} vs CPU pins {cpu[pkg]}"


def test_readme_names_the_container():
    assert "merlin-tensorflow:23.08" in (REPO / "README.md").read_text()
