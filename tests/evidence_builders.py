"""Synthetic evidence built with the Debian tools examiners know (mke2fs -d,
debugfs, mtools, sfdisk, ewfacquire), so the tests never need committed
images, and a scan helper that proves the evidence is unchanged."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Iterable

from typer.testing import CliRunner

from traffick_triage.cli import app
from traffick_triage.sources.directory import open_readonly

SECTOR = 512


def run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, **kwargs)


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def make_ext4(path: Path, files: dict[str, bytes], delete: Iterable[str] = (), size_kib: int = 4096) -> Path:
    """ext4 built from a folder by mke2fs -d; ``delete`` removed by debugfs (so
    TSK still lists them as deleted)."""
    staging = path.with_suffix(".staging")
    write_tree(staging, files)
    run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-E", "root_owner=0:0",
        "-d", str(staging), str(path), f"{size_kib}K", env={**os.environ, "E2FSPROGS_FAKE_TIME": "1700000000"})
    for name in delete:
        run("debugfs", "-w", "-R", f"rm /{name}", str(path))
    return path


def make_fat32(path: Path, files: dict[str, bytes], delete: Iterable[str] = (), size_kib: int = 40960) -> Path:
    """FAT32 by mkfs.vfat, filled with mtools' mcopy; ``delete`` by mdel."""
    with open(path, "wb") as stream:
        stream.truncate(size_kib * 1024)
    run("mkfs.vfat", "-F", "32", "-n", "EVIDENCE", "-i", "12345678", str(path))
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    staging = path.with_suffix(".staging")
    write_tree(staging, files)
    for relative in sorted(files):
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            subprocess.run(["mmd", "-i", str(path), "::/" + "/".join(parts[:depth])], env=env, capture_output=True)
        run("mcopy", "-i", str(path), str(staging / relative), "::/" + relative, env=env)
    for name in delete:
        run("mdel", "-i", str(path), "::/" + name, env=env)
    return path


def make_partitioned_disk(path: Path, volumes: list[Path], label: str = "dos") -> list[int]:
    """A disk with an MBR ("dos") or GPT partition table holding the given
    file-system images; returns each partition's start sector."""
    start, starts = 2048, []
    for volume in volumes:
        starts.append(start)
        start += (volume.stat().st_size + SECTOR - 1) // SECTOR + 2048
    total = (start + 2048) * SECTOR
    with open(path, "wb") as stream:
        stream.truncate(total)
    script = f"label: {label}\n" + "".join(
        f"start={s}, size={(v.stat().st_size + SECTOR - 1) // SECTOR}, type={'83' if label == 'dos' else 'L'}\n"
        for s, v in zip(starts, volumes))
    run("sfdisk", "--no-reread", "--no-tell-kernel", str(path), input=script.encode())
    write_volumes(path, starts, volumes)
    return starts


def write_volumes(disk: Path, starts: list[int], volumes: list[Path]) -> None:
    """Each volume's bytes into the disk image at its start sector."""
    with open(disk, "r+b") as stream:
        for first, volume in zip(starts, volumes):
            stream.seek(first * SECTOR)
            stream.write(volume.read_bytes())


def make_e01(raw: Path, target_stem: Path, segment_bytes: int | None = None, compression: str = "deflate:fast") -> Path:
    """An E01 set by ewfacquire (unattended), with its MD5 stored inside."""
    command = ["ewfacquire", "-u", "-q", "-t", str(target_stem), "-c", compression, "-C", "CASE-1",
               "-D", "synthetic test disk", "-e", "Test Examiner", "-E", "EV-1", "-N", "made by the test suite",
               "-m", "fixed", "-M", "physical", "-d", "sha1"]
    if segment_bytes:
        command += ["-S", str(segment_bytes)]
    run(*command, str(raw))
    return target_stem.with_suffix(".E01")


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def make_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1714564800
            archive.addfile(info, io.BytesIO(data))
    return path


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _tree(root: Path) -> list[Path]:
    """Everything under ``root``, without following symlinks and without
    recursion (Path.rglob recurses: a folder 1,100 levels deep overflows it)."""
    found, pending = [], [root]
    while pending:
        with os.scandir(pending.pop()) as listing:
            for item in listing:
                found.append(Path(item.path))
                if item.is_dir(follow_symlinks=False):
                    pending.append(Path(item.path))
    return found


def tree_hashes(paths: Iterable[Path]) -> dict[str, str]:
    """SHA-256 of every file under the given evidence paths (and the mode and
    mtime, so even a metadata change would show)."""
    out = {}
    for path in paths:
        candidates = [path] if path.is_file() else sorted(_tree(path))
        for item in candidates:
            if item.is_symlink() or not item.is_file():
                continue
            info = item.stat()
            digest = hashlib.sha256()
            # In chunks (evidence may be many GB) and without touching access
            # times (O_NOATIME, as the tool reads): the check must not change
            # what a later scan of the same evidence records.
            with open_readonly(str(item)) as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
            out[str(item)] = f"{digest.hexdigest()}:{info.st_mode}:{info.st_mtime_ns}"
    return out


def evidence_files(paths: Iterable[Path]) -> list[Path]:
    """The evidence paths plus the other segments of a split image or E01."""
    out = []
    for path in paths:
        out.append(path)
        if path.is_file() and path.suffix.upper() in (".E01", ".001"):
            stem = path.with_suffix("")
            out += sorted(p for p in path.parent.glob(stem.name + ".*") if p != path)
    return out


def scan(evidence: list[Path], case_dir: Path, *options: str, expect_exit: int | None = None):
    """Run `triage scan` through the CLI and assert the evidence was not
    changed by it (every scan in the suite goes through here)."""
    before = tree_hashes(evidence_files(evidence))
    result = CliRunner().invoke(app, ["scan", *map(str, evidence), "-o", str(case_dir), "--quiet", *options])
    after = tree_hashes(evidence_files(evidence))
    assert before == after, "the scan changed the evidence"
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    if expect_exit is not None:
        assert result.exit_code == expect_exit, result.output
    return result


def load_report(case_dir: Path) -> dict:
    return json.loads((case_dir / "report.json").read_text(encoding="utf-8"))


def regular_files(report: dict, evidence_id: str | None = None) -> list[dict]:
    return [f for f in report["files"] if f["kind"] == "file" and (evidence_id is None or f["evidence_id"] == evidence_id)]


# The routes of a file system's own entries, what fls lists; items found inside
# files, carved or in shadow copies have routes of their own (expansion.api).
FILE_SYSTEM_ROUTES = ("live", "deleted entry")


def file_system_files(report: dict, evidence_id: str | None = None) -> list[dict]:
    """The regular files of the file systems themselves, as fls would list them."""
    return [f for f in regular_files(report, evidence_id) if f.get("route", "live") in FILE_SYSTEM_ROUTES]
