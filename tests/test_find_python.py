"""A machine without Python 3.11: `make` takes 3.10, or provisions 3.11 with uv from the package index, or stops.

The route is tested with the Pythons hidden from PATH (a folder whose only python3 is 3.12, or none). The last step,
uv downloading the interpreter, needs python-build-standalone's mirror, outside the package index: this machine
cannot reach it (a laptop can), so that step is skipped with its reason unless RECSYS_TRY_UV_DOWNLOAD=1.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

SCRIPT = REPO / "tools" / "find_python.sh"
PYENV = Path.home() / ".pyenv" / "versions"


def _python(version: str) -> Path:
    found = sorted(PYENV.glob(f"{version}.*/bin/python{version}"))
    if not found:
        pytest.skip(f"no Python {version} on this machine to stand in for a user's")
    return found[-1]


def _path(tmp_path, **pythons: Path) -> Path:
    """A PATH folder with only the given pythons (name -> interpreter) and the tools make's recipes use."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for name, target in pythons.items():
        (bin_ / name).symlink_to(target)
    for tool in ("make", "cat", "sha1sum", "cut", "grep", "rm", "touch", "test"):
        if shutil.which(tool):
            (bin_ / tool).symlink_to(shutil.which(tool))
    return bin_


def _run(cmd: list[str], path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"HOME": os.environ["HOME"], "PATH": str(path), **env})


def test_only_python_3_12_takes_the_uv_route(tmp_path):
    path = _path(tmp_path, python3=_python("3.12"))
    r = _run(["/bin/bash", str(SCRIPT)], path, FIND_PYTHON_DRY_RUN="1")
    assert r.returncode == 0, r.stderr
    assert f"Python 3.11 not found ({path / 'python3'} is Python 3.12): provisioning Python 3.11 with uv" in r.stderr
    steps = [line.strip() for line in r.stderr.splitlines() if line.strip().startswith("$ ")]
    assert steps == [f"$ {path / 'python3'} -m venv .uv-bootstrap",
                     "$ .uv-bootstrap/bin/python -m pip install -q --disable-pip-version-check uv==0.13.9",
                     "$ .uv-bootstrap/bin/uv python install 3.11", "$ .uv-bootstrap/bin/uv python find 3.11"]


def test_make_takes_the_route_and_uses_what_it_finds(tmp_path):
    path = _path(tmp_path, python3=_python("3.12"))
    r = _run(["make", "-n", "venv"], path, FIND_PYTHON_DRY_RUN="1")
    assert "provisioning Python 3.11 with uv" in r.stderr and "uv python install 3.11" in r.stderr
    assert ".uv-bootstrap/python-3.11-from-uv -m venv" in r.stdout  # the venv is made from uv's Python
    r = _run(["make", "-n", "help"], path, FIND_PYTHON_DRY_RUN="1")
    assert "uv" not in r.stderr  # targets that need no Python provision nothing


def test_a_python_3_10_is_taken_as_it_is(tmp_path):
    path = _path(tmp_path, **{"python3.10": _python("3.10"), "python3": _python("3.12")})
    r = _run(["/bin/bash", str(SCRIPT)], path, FIND_PYTHON_DRY_RUN="1")
    assert r.returncode == 0 and r.stdout.strip() == str(path / "python3.10") and "uv" not in r.stderr
    r = _run(["make", "-n", "venv"], path)
    assert ".venv-3.10/bin/python -m pip install" in r.stdout  # its own venv, as with PYTHON=python3.10


def test_without_any_python_make_stops_with_the_install_message(tmp_path):
    path = _path(tmp_path)
    r = _run(["/bin/bash", str(SCRIPT)], path, FIND_PYTHON_DRY_RUN="1")
    assert r.returncode == 1 and "note: No python3 to bootstrap uv from either." in r.stderr
    r = _run(["make", "venv", f"VENV={tmp_path / 'venv'}"], path)  # a clean clone: no venv yet
    assert r.returncode != 0 and "note: No python3 to bootstrap uv from either." in r.stderr
    assert "error: Python 3.11 not found (TensorFlow 2.12, the newest Merlin Models and NVTabular accept, has no wheel for 3.12+)." in r.stderr
    assert "Install python3.11" in r.stderr


def test_the_python_override_is_kept():
    r = subprocess.run(["make", "-n", "venv", f"PYTHON={_python('3.10')}"], cwd=REPO, capture_output=True, text=True,
                       timeout=60)
    assert ".venv-3.10/bin/python -m pip install" in r.stdout and "uv" not in r.stderr


def test_the_interpreter_download(tmp_path):
    """The real route end to end: bootstrap venv, pip install uv, uv python install 3.11."""
    if os.environ.get("RECSYS_TRY_UV_DOWNLOAD") != "1":
        pytest.skip("uv python install downloads the interpreter from outside the package index, which this "
                    "machine cannot reach (only PyPI is); set RECSYS_TRY_UV_DOWNLOAD=1 where it can")
    path = _path(tmp_path, python3=_python("3.12"))
    r = _run(["/bin/bash", str(SCRIPT)], path, UV_BOOTSTRAP=str(tmp_path / "boot"))
    assert r.returncode == 0, r.stderr
    assert subprocess.run([r.stdout.strip(), "-c", "import sys; assert sys.version_info[:2] == (3, 11)"]).returncode == 0
