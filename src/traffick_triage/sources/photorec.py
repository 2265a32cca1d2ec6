"""PhotoRec (CGSecurity's carver, Debian's ``testdisk`` package, the carver
Autopsy ships) run in batch mode on one volume, and its DFXML ``report.xml``
read back as byte runs.

PhotoRec writes the files it carves into a work folder; only their places
are used here (``img_offset`` and ``len`` of each byte run, and the file
size), so the bytes of a carved file are read again from the evidence
itself, never from PhotoRec's copy, which is removed with its work folder.

Debian's PhotoRec is built without libewf (``photorec /version``: "ewf lib:
none") and cannot read a VMDK or a split raw image, so it is always given a
raw file of the volume's bytes (carving.py writes it, sparse, through the
source's own reader). ``report.xml`` names files PhotoRec may have named from
their content: it is evidence-controlled and parsed as hostile (no DTD, no
entities, bounded size and count); of a name only a checked extension is kept."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from typing import Iterator

PHOTOREC = "photorec"
# PhotoRec's names of the file families carved. "mov" is its ISO base media
# family: MP4, MOV, 3GP and HEIC (ftyp brands); "riff" is AVI/WAV/WebP.
FILE_FAMILIES = ("jpg", "png", "gif", "bmp", "mov", "riff", "sqlite", "pdf", "zip")
# File systems whose free space PhotoRec can tell apart from used space
# (its fat/ntfs/ext2/exfat "remove_used_space"); on any other it carves the whole volume.
FREE_SPACE_FILE_SYSTEMS = frozenset({"FAT12", "FAT16", "FAT32", "exFAT", "NTFS", "ext2", "ext3", "ext4"})

MAX_REPORT_BYTES = 256 << 20       # report.xml read at most this large (about a million files)
MAX_CARVED_FILES = 200_000         # files taken from one volume; the rest are counted in a warning
MAX_RUNS_PER_FILE = 65_536         # byte runs of one carved file (PhotoRec's are few: it carves contiguous data)
TIMEOUT_BASE_SECONDS = 120.0
TIMEOUT_BYTES_PER_SECOND = 8 << 20  # the default timeout allows PhotoRec this slow a pace


class CarveError(Exception):
    """PhotoRec could not carve the volume (missing, timed out, failed, unreadable report)."""


@dataclass(frozen=True)
class CarvedFile:
    """One carved file: its byte runs in the volume (offset, length), in file
    order, already cut to ``size``, and the extension PhotoRec gave it."""

    size: int
    runs: tuple[tuple[int, int], ...]
    extension: str

    @property
    def offset(self) -> int:
        return self.runs[0][0] if self.runs else 0


@dataclass
class CarveResult:
    files: list[CarvedFile]
    problems: list[str]             # one warning each: refused files, a truncated list


def photorec_path() -> str | None:
    return shutil.which(PHOTOREC)


def photorec_version() -> str:
    """'PhotoRec 7.1' from ``photorec /version``; empty when it cannot run."""
    executable = photorec_path()
    if executable is None:
        return ""
    try:
        output = subprocess.run([executable, "/version"], capture_output=True, timeout=30,
                                stdin=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return ""
    match = re.search(r"^Version:\s*(\S+)", output, re.MULTILINE)
    return f"PhotoRec {match.group(1)}" if match else ""


def default_timeout(volume_bytes: int) -> float:
    """Seconds PhotoRec may spend on a volume of this size unless told otherwise."""
    return TIMEOUT_BASE_SECONDS + volume_bytes / TIMEOUT_BYTES_PER_SECOND


def command_line(free_space_only: bool) -> str:
    """PhotoRec's /cmd script: the file system it finds in the volume (its
    default choice; its defaults check each file and keep none that fails),
    only the families above, free or whole space, search."""
    families = ",".join(f"{name},enable" for name in FILE_FAMILIES)
    space = "freespace" if free_space_only else "wholespace"
    return f"fileopt,everything,disable,{families},{space},search"


def run_photorec(volume_file: str, work_folder: str, free_space_only: bool, timeout: float) -> str:
    """Carve ``volume_file`` into ``work_folder``; the path of its report.xml."""
    executable = photorec_path()
    if executable is None:
        raise CarveError("photorec is not installed (Debian package testdisk)")
    # Absolute paths: PhotoRec runs in the work folder (its log goes there), and
    # a case folder given as a relative path gives a relative work folder.
    work_folder, volume_file = os.path.abspath(work_folder), os.path.abspath(volume_file)
    recup = os.path.join(work_folder, "recup")
    command = [executable, "/log", "/d", recup, "/cmd", volume_file, command_line(free_space_only)]
    # Its own session, so a timeout kills PhotoRec and anything it started;
    # no terminal: its curses screen goes nowhere, photorec.log into the work folder.
    process = subprocess.Popen(command, cwd=work_folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True,
                               env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "dumb", "LC_ALL": "C"})
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):     # it ended in between
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise CarveError(f"PhotoRec did not finish within {timeout:.0f} seconds and was stopped "
                         "(--carve-timeout sets a longer limit); nothing it carved is listed") from None
    report = os.path.join(f"{recup}.1", "report.xml")
    # No line of photorec.log in the message: it holds times and elapsed
    # seconds, and the warning goes into a report that must be reproducible.
    if returncode != 0:
        raise CarveError(f"PhotoRec failed (exit status {returncode})")
    if not os.path.isfile(report):
        raise CarveError("PhotoRec wrote no report.xml")
    return report


_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,8})$")


def read_report(path: str, volume_bytes: int) -> CarveResult:
    """The carved files of a PhotoRec report.xml, each checked to lie inside
    the volume (``volume_bytes`` long), sorted by offset."""
    try:
        size = os.path.getsize(path)
    except OSError as error:
        raise CarveError(f"report.xml not readable: {error.strerror}") from error
    if size > MAX_REPORT_BYTES:
        raise CarveError(f"report.xml is {size} bytes, over the {MAX_REPORT_BYTES}-byte limit: not read")
    files: list[CarvedFile] = []
    problems: list[str] = []
    over = 0
    try:
        for name, declared, runs in _file_objects(path):
            if len(files) >= MAX_CARVED_FILES:
                over += 1
                continue
            carved, problem = _checked(name, declared, runs, volume_bytes)
            if problem:
                problems.append(problem)
            elif carved is not None:
                files.append(carved)
    except CarveError:
        raise
    except Exception as error:   # noqa: BLE001 - any parser error of a hostile file is one warning
        raise CarveError(f"report.xml is malformed: {type(error).__name__}: {str(error)[:200]}") from None
    if over:
        problems.append(f"PhotoRec carved {MAX_CARVED_FILES + over} files; only the first {MAX_CARVED_FILES} "
                        "are listed")
    files.sort(key=lambda f: (f.offset, f.size, f.runs, f.extension))
    return CarveResult(files, problems)


def _checked(name: str, declared: str, runs: list[tuple[str, str, str]],
             volume_bytes: int) -> tuple[CarvedFile | None, str | None]:
    """A file object's runs as integers inside the volume, cut to its size; or why it is refused."""
    shown = _EXTENSION.search(name)
    extension = shown.group(1).lower() if shown else "bin"
    label = f"carved file {name[:80]!r}"
    try:
        size = int(declared)
        parsed = sorted((int(logical), int(offset), int(length)) for logical, offset, length in runs)
    except ValueError:
        return None, f"{label}: a size or byte run in report.xml is not a number; not listed"
    if size <= 0 or not parsed:
        return None, None                              # nothing to read: PhotoRec lists none such normally
    if len(parsed) > MAX_RUNS_PER_FILE:
        return None, f"{label}: {len(parsed)} byte runs, over the limit of {MAX_RUNS_PER_FILE}; not listed"
    kept: list[tuple[int, int]] = []
    position = 0
    for logical, offset, length in parsed:
        if logical != position or length <= 0:
            return None, f"{label}: its byte runs leave a gap or overlap (at file offset {position}); not listed"
        if offset < 0 or offset + length > volume_bytes:
            return None, (f"{label}: byte run at volume offset {offset} ({length} bytes) lies outside the "
                          f"volume ({volume_bytes} bytes); refused")
        take = min(length, size - position)
        if take > 0:
            kept.append((offset, take))
        position += length
    if position < size:
        return None, f"{label}: its byte runs hold {position} bytes of the {size} it declares; not listed"
    return CarvedFile(size, tuple(kept), extension), None


def _file_objects(path: str) -> Iterator[tuple[str, str, list[tuple[str, str, str]]]]:
    """(filename, filesize, [(offset, img_offset, len)]) of each <fileobject>, streamed."""
    _refuse_dtd(path)
    for element in _iterparse(path):
        if _local(element.tag) != "fileobject":
            continue
        name = size = ""
        runs: list[tuple[str, str, str]] = []
        for child in element.iter():
            tag = _local(child.tag)
            if tag == "filename":
                name = (child.text or "").strip()
            elif tag == "filesize":
                size = (child.text or "").strip()
            elif tag == "byte_run":
                runs.append((child.get("offset", "0"), child.get("img_offset", ""), child.get("len", "")))
        element.clear()
        yield name, size, runs


def _refuse_dtd(path: str) -> None:
    """A first pass by expat that stops at a document type declaration (PhotoRec
    writes none; one would bring entities and their expansion), wherever it is."""
    import xml.parsers.expat

    def refuse(*_: object) -> None:
        raise CarveError("report.xml declares a DTD or entities (PhotoRec writes none): not read")

    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)


def _iterparse(path: str) -> Iterator[object]:
    """End events of report.xml by a parser that refuses DTDs and entity
    expansion: defusedxml when installed, else ElementTree after the check above."""
    try:
        from defusedxml.ElementTree import iterparse
    except ImportError:
        from xml.etree.ElementTree import iterparse
    for _, element in iterparse(path, events=("end",)):
        yield element


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]
