"""The bench's samplers, shared by run.py, real_month.py and peer_polars.py (a module of its own: no import cycle)."""
from __future__ import annotations

import os
import threading
import time


class PeakRSS:
    """Peak resident memory of this process and its children, sampled every 50 ms."""

    def __enter__(self):
        import psutil

        self._proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()

        def sample():
            while not self._stop.is_set():
                try:
                    procs = [self._proc, *self._proc.children(recursive=True)]
                    self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
                except Exception:  # noqa: BLE001 - a child may exit while being read
                    pass
                time.sleep(0.05)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class OthersCPU:
    """The share of the machine's CPU that other work used during a step: all busy CPU time minus this process's
    and its children's, over the step's wall time x cores (children that exit unwaited count as other: at most)."""

    def __enter__(self):
        self._start = (time.perf_counter(), self._busy(), self._own())
        return self

    def __exit__(self, *exc):
        wall, busy, own = (end - start for end, start in zip((time.perf_counter(), self._busy(), self._own()),
                                                              self._start))
        self.share = max(0.0, busy - own) / (wall * (os.cpu_count() or 1))

    @staticmethod
    def _busy() -> float:
        import psutil

        t = psutil.cpu_times()
        return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)

    @staticmethod
    def _own() -> float:
        import psutil

        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        for child in psutil.Process().children(recursive=True):
            try:
                c = child.cpu_times()
                own += c.user + c.system
            except psutil.Error:
                pass
        return own
