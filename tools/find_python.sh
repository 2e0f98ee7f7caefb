#!/bin/bash
# The Python the course's venv is made from, printed on stdout (messages go to stderr):
#   1. python3.11, then python3.10, then python3 if it is one of them (a command that does not run, such as a pyenv
#      shim of a version not selected, does not count);
#   2. otherwise, when some python3 exists: provision Python 3.11 with uv, from the package index only:
#      `python3 -m venv .uv-bootstrap`, `pip install uv`, `uv python install 3.11` (uv downloads the interpreter from
#      its own mirror of python-build-standalone: a laptop reaches it, a machine limited to the package index does
#      not), and print the interpreter `uv python find 3.11` reports;
#   3. otherwise, or when provisioning fails: the reason on stderr, exit 1 (make then says what to install).
# FIND_PYTHON_DRY_RUN=1 prints the route's commands instead of running them (tests/test_find_python.py).
set -uo pipefail
UV_VERSION=0.13.9
BOOT=${UV_BOOTSTRAP:-.uv-bootstrap}

is_course_python() {  # $1 runs and is Python 3.11 or 3.10
  "$1" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 10)))' >/dev/null 2>&1
}

for p in python3.11 python3.10 python3; do
  if command -v "$p" >/dev/null 2>&1 && is_course_python "$p"; then command -v "$p"; exit 0; fi
done

give_up() {  # the reason; the caller (the Makefile) then says what to install
  echo "note: $1" >&2
  exit 1
}

base=""
for p in python3 python; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 8))' >/dev/null 2>&1
  then base=$(command -v "$p"); break; fi
done
[ -n "$base" ] || give_up "No python3 to bootstrap uv from either."
if [ -z "${FIND_PYTHON_DRY_RUN:-}" ] && [ -x "$BOOT/bin/uv" ] && found=$("$BOOT/bin/uv" python find 3.11 2>/dev/null) \
   && is_course_python "$found"; then
  echo "$found"  # provisioned before
  exit 0
fi
version=$("$base" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "Python 3.11 not found ($base is Python $version): provisioning Python 3.11 with uv (once, ~30 MB)." >&2

run() {  # say it, then do it (or only say it in a dry run)
  echo "  \$ $*" >&2
  [ -n "${FIND_PYTHON_DRY_RUN:-}" ] && return 0
  "$@" >&2
}
run "$base" -m venv "$BOOT" || give_up "Could not make the bootstrap venv $BOOT with $base."
run "$BOOT/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION" \
  || give_up "Could not install uv from the package index."
run "$BOOT/bin/uv" python install 3.11 \
  || give_up "uv could not download Python 3.11 (its interpreters come from outside the package index)."
if [ -n "${FIND_PYTHON_DRY_RUN:-}" ]; then
  echo "  \$ $BOOT/bin/uv python find 3.11" >&2
  echo "$BOOT/python-3.11-from-uv"
  exit 0
fi
found=$("$BOOT/bin/uv" python find 3.11) && is_course_python "$found" || give_up "uv python find 3.11 found nothing."
echo "using $found (installed by uv)" >&2
echo "$found"
