"""Output folders that appear whole or not at all."""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_output(out: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; rename it to `out` if the block succeeds, delete it if it fails.

    An existing `out` must be an empty folder: nothing is overwritten, and a failure leaves nothing behind.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not empty; remove it first (make clean-data) or choose another output")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
