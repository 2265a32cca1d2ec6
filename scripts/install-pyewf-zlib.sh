#!/usr/bin/env bash
# Rebuilds pyewf (libewf-python) in the venv so that E01 chunks are inflated
# by the system zlib. Safe to run again: does nothing when pyewf already uses zlib.
#
# Why: the PyPI wheel is built with `configure --disable-shared-libs`, which
# also turns zlib off, so libewf inflates with its own deflate code: reading
# the 2.5 GB bench E01 took 47 s of CPU with the wheel, 6 s with zlib (a scan
# of it, 2 cores: 103 s -> 38 s). The bytes read are the same.
# The sdist's build script has no switch for zlib; ZLIB_DLL is libewf's own
# hook for a build that brings its zlib (libewf/libewf_compression.c), here
# given the system's; HAVE_ZLIB_ADLER32 has it check stored chunks with zlib's
# Adler-32 too (libewf_checksum.c: 5.6 -> 5.1 s of CPU for the E01 above).
# Needs gcc, zlib's and Python's headers
# (scripts/install-system-deps.sh). A failed build keeps the wheel: slower, not wrong.
set -euo pipefail

VENV="${1:-.venv}"
uses_zlib() {
  local extension
  extension=$("$VENV/bin/python" -c 'import pyewf; print(pyewf.__file__)')
  # Not grep -q: with pipefail, ldd killed by SIGPIPE would read as "no zlib".
  ldd "$extension" | grep 'libz\.so' >/dev/null
}

if uses_zlib; then
  exit 0
fi
version=$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("libewf-python"))')
echo "building libewf-python $version against zlib (about a minute)"
# --no-cache-dir: pip's wheel cache keys on the sdist, not on these flags.
if ! CFLAGS="${CFLAGS:-} -DZLIB_DLL -DHAVE_ZLIB_ADLER32" LDFLAGS="${LDFLAGS:-} -Wl,--no-as-needed -lz" \
    "$VENV/bin/pip" install -q --force-reinstall --no-deps --no-cache-dir --no-binary libewf-python \
    "libewf-python==$version"; then
  echo "warning: could not build pyewf with zlib; E01 images are read with libewf's slower inflater" >&2
  exit 0
fi
if ! uses_zlib; then
  echo "warning: pyewf was rebuilt but does not load zlib; E01 images are read with libewf's slower inflater" >&2
fi
