#!/usr/bin/env bash
# Installs the Debian packages traffick-triage's demo and tests use, only
# those missing. Safe to run again. Needs root (or sudo) when something is missing.
set -euo pipefail

# command -> package
declare -A NEEDED=(
  [fls]=sleuthkit            # oracle for file listings (fls/icat/mmls) in the tests
  [hashdeep]=hashdeep        # oracle for the evidence manifest
  [ewfacquire]=ewf-tools     # builds E01 fixtures and the demo laptop image
  [mcopy]=mtools             # FAT fixtures
  [mkfs.vfat]=dosfstools
  [sfdisk]=fdisk             # partitioned disk fixtures
  [mke2fs]=e2fsprogs
  [debugfs]=e2fsprogs
  [exiftool]=libimage-exiftool-perl   # oracle for EXIF
  [sqlite3]=sqlite3          # oracle for phone databases
  [file]=file                # pulls libmagic1, which python-magic loads
  [chromium]=chromium        # headless browser for the HTML report tests
  [qemu-img]=qemu-utils      # converts VMDK/QCOW2/VHD fixtures to raw for the TSK oracle
  [faketime]=faketime        # freezes the clock so the demo E01 is byte-identical for a seed
  [ewfverify]=ewf-tools      # the workshop's E01 exercise
  [mkntfs]=ntfs-3g           # NTFS fixtures (hostile-evidence tests, the container matrix)
  [vshadowinfo]=libvshadow-utils   # the shadow-copy tests' oracle: stores and their creation times
  [strace]=strace            # the confinement tests' oracle: every file the scan and its workers open
  [pdfimages]=poppler-utils  # oracle for the images the PDF expander finds (pdfimages -list / -all)
  [photorec]=testdisk        # carves disk images' unallocated space (sources/carving.py); an oracle in tests/test_carving.py
  [foremost]=foremost        # the second carver, an oracle in tests/test_carving.py
  [gcc]=gcc                  # builds pyewf against zlib (scripts/install-pyewf-zlib.sh)
)

missing=()
for command in "${!NEEDED[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${NEEDED[$command]}")
done
if ! ldconfig -p 2>/dev/null | grep -q libmagic.so.1; then missing+=(libmagic1); fi
if ! ldconfig -p 2>/dev/null | grep -q libarchive.so.13; then missing+=(libarchive13); fi   # libarchive-c: archives found inside the evidence
# `python3 -m venv` (the Makefile) needs ensurepip, which Debian and Ubuntu ship
# apart from python3 (a fresh Ubuntu 24.04 or Debian 13 has python3 without it).
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
# pyewf built against zlib (scripts/install-pyewf-zlib.sh) needs zlib's and Python's headers.
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
python3 -c 'import os, sysconfig; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' \
  2>/dev/null || missing+=(python3-dev)
# The vpdq extra (video frame hashing) builds against FFmpeg's development files.
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
if ! pkg-config --exists libavcodec libavformat libavutil libswscale libswresample libavfilter libavdevice 2>/dev/null; then
  missing+=(pkg-config libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
            libavfilter-dev libavdevice-dev)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "installing system packages: ${packages[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "run as root or install: ${packages[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
