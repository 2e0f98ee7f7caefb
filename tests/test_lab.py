"""`make lab` serves JupyterLab on 127.0.0.1 with a token, and refuses requests without it."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import psutil
import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str) -> int:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        return opener.open(url, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code
    except urllib.error.URLError:
        return 0  # not listening (yet)


@pytest.fixture()
def lab():
    port = _free_port()
    env = {**os.environ, "JUPYTER_TOKEN": ""}  # empty: make lab must make a random token, never serve without one
    proc = subprocess.Popen(["make", "-s", "lab", "SCALE=tiny", f"PORT={port}"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        url = None
        deadline = time.time() + 240
        while time.time() < deadline and url is None:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            m = re.search(r"JupyterLab: (http://127\.0\.0\.1:\d+/lab\?token=(\S+))", line)
            if m:
                url, token = m.group(1), m.group(2)
        assert url, "make lab did not print its URL:\n" + "".join(lines)
        while time.time() < deadline and _get(f"http://127.0.0.1:{port}/api/status?token={token}") != 200:
            assert proc.poll() is None, "JupyterLab exited:\n" + "".join(lines) + proc.stdout.read()
            time.sleep(0.5)
        yield port, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_make_lab_needs_the_token(lab):
    port, token = lab
    assert len(token) >= 24
    base = f"http://127.0.0.1:{port}"
    assert _get(f"{base}/api/status?token={token}") == 200
    assert _get(f"{base}/api/contents/notebooks/01_data_and_etl.ipynb?token={token}") == 200
    assert _get(f"{base}/api/contents") == 403
    assert _get(f"{base}/lab") in (302, 303)  # to the login page
    listening = [c.laddr.ip for c in psutil.net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
    assert listening and set(listening) <= {"127.0.0.1"}
