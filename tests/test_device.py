"""The CPU/GPU decision: GPU only with a visible GPU, an importable cuDF and a TensorFlow GPU."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO
from recsys_course import device


def _fake(monkeypatch, visible: bool, cudf: bool, tf_gpu: bool) -> None:
    monkeypatch.setattr(device, "gpu_visible", lambda: visible)
    monkeypatch.setattr(device, "cudf_importable", lambda: cudf)
    monkeypatch.setattr(device, "tf_sees_gpu", lambda: tf_gpu)


def test_gpu_when_all_three_are_present(monkeypatch):
    _fake(monkeypatch, True, True, True)
    assert device.decide({}).kind == "gpu"


@pytest.mark.parametrize("visible,cudf,tf_gpu,reason", [
    (False, True, True, "no GPU visible"),
    (True, False, True, "cuDF does not import"),
    (True, True, False, "TensorFlow sees no GPU"),
])
def test_cpu_when_any_is_missing(monkeypatch, visible, cudf, tf_gpu, reason):
    _fake(monkeypatch, visible, cudf, tf_gpu)
    d = device.decide({})
    assert d.kind == "cpu" and reason in d.reason


def test_cpu_override_wins_over_a_gpu(monkeypatch):
    _fake(monkeypatch, True, True, True)
    assert device.decide({"RECSYS_COURSE_DEVICE": "cpu"}).kind == "cpu"


def test_forcing_gpu_without_one_is_a_clear_error(monkeypatch):
    _fake(monkeypatch, True, False, True)
    with pytest.raises(device.DeviceError, match="cuDF does not import.*environment.yml"):
        device.decide({"RECSYS_COURSE_DEVICE": "gpu"})


# the pinned versions (requirements.txt), which the device line and doctor must report
PINS = dict(line.split("==") for line in (REPO / "requirements.txt").read_text().splitlines()
            if "==" in line and not line.startswith("#"))


def test_unknown_override_is_rejected():
    with pytest.raises(device.DeviceError, match="not one of cpu, gpu"):
        device.decide({"RECSYS_COURSE_DEVICE": "tpu"})


def test_this_machine_is_cpu(no_device_override):
    d = device.decide({})
    assert d.kind == "cpu"
    assert d.line().startswith("device: CPU (") and "tensorflow 2.12.1" in d.line() and f"merlin-models {PINS['merlin-models']}" in d.line()


def _cli(*args, env_extra=None):
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "recsys_course", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_doctor_reports_versions_device_and_data():
    r = _cli("doctor", env_extra={"RECSYS_COURSE_DEVICE": ""})
    assert r.returncode == 0, r.stderr
    assert f"merlin-models      {PINS['merlin-models']}" in r.stdout and "device: CPU" in r.stdout and "tiny" in r.stdout


def test_doctor_with_gpu_forced_on_cpu_fails_clearly():
    r = _cli("doctor", env_extra={"RECSYS_COURSE_DEVICE": "gpu"})
    assert r.returncode == 2
    assert "RECSYS_COURSE_DEVICE=gpu but no GPU visible" in r.stderr


def test_the_default_scale_follows_the_device(monkeypatch):
    from recsys_course import config

    monkeypatch.delenv("RECSYS_SCALE", raising=False)
    monkeypatch.setattr(device, "current", lambda: device.Device("gpu", "faked"))
    assert config.default_scale() == "workshop" and config.Params.from_env().scale == "workshop"
    monkeypatch.setattr(device, "current", lambda: device.Device("cpu", "faked"))
    assert config.default_scale() == "small"
    monkeypatch.setenv("RECSYS_SCALE", "tiny")
    assert config.Params.from_env().scale == "tiny"
    monkeypatch.setenv("RECSYS_SCALE", "huge")
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        config.Params.from_env()
