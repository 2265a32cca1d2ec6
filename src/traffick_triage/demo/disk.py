"""File systems, an MBR disk and its E01, built byte for byte the same every
time: every tool runs under libfaketime with a frozen clock (``faketime -f``)
and TZ=UTC, mke2fs gets a fixed UUID and hash seed (and E2FSPROGS_FAKE_TIME),
every inode's times are set explicitly with debugfs (mke2fs -d would copy the
staging files' ctime, which no one can set), mkfs.vfat runs with --invariant
and a fixed volume id, sfdisk with a fixed disk id, and ewfacquire's
acquisition and system dates come from the frozen clock."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SECTOR = 512
FROZEN = "2024-05-01 12:00:00"          # the clock every tool sees (UTC)
FAKE_TIME = "1714564800"                 # the same instant, for E2FSPROGS_FAKE_TIME


class DemoError(Exception):
    pass


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "TZ": "UTC", "LC_ALL": "C", "E2FSPROGS_FAKE_TIME": FAKE_TIME,
            "MTOOLS_SKIP_CHECK": "1", **extra}


def run(*command: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run one tool under a frozen clock."""
    faketime = shutil.which("faketime")
    if faketime is None:
        raise DemoError("faketime is not installed (apt-get install faketime; "
                        "scripts/install-system-deps.sh): the demo case needs it to be reproducible")
    try:
        return subprocess.run([faketime, "-f", FROZEN, *command], check=check, capture_output=True,
                              input=input, env=_env())
    except FileNotFoundError as error:
        raise DemoError(f"{command[0]} is not installed (run scripts/install-system-deps.sh)") from error
    except subprocess.CalledProcessError as error:
        raise DemoError(f"{' '.join(command[:3])}... failed: "
                        f"{error.stderr.decode(errors='replace').strip()}") from error


@dataclass
class Volume:
    """One partition to build: its files (path -> bytes), per-file times
    (path -> epoch seconds), the files to delete after writing them."""

    label: str
    fs: str                                   # "ext4", "fat32", "fat16"
    size_mib: int
    files: dict[str, bytes] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    volume_id: str = "0B0E0D0C"
    partition_type: str = "83"

    def add(self, path: str, data: bytes, when: int) -> None:
        self.files[path] = data
        self.times[path] = when


def _stage(root: Path, volume: Volume) -> list[str]:
    """Write the files under ``root``; returns every directory (relative, sorted)."""
    directories: set[str] = set()
    for relative, data in sorted(volume.files.items()):
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, (volume.times[relative], volume.times[relative]))
        parts = relative.split("/")
        directories.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    return sorted(directories)


def _stamp(when: int) -> str:
    return f"@{when}"


def build_ext4(path: Path, volume: Volume, work: Path) -> None:
    staging = work / (path.name + ".d")
    directories = _stage(staging, volume)
    with open(path, "wb") as stream:
        stream.truncate(volume.size_mib << 20)
    run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-L", volume.label,
        "-U", "0b0e0d0c-0000-4000-8000-000000000001",
        "-E", "hash_seed=0b0e0d0c-0000-4000-8000-000000000002,root_owner=1000:1000",
        "-d", str(staging), str(path))
    # mke2fs -d copies the staging files' ctime (the time they were written
    # here): set every time of every inode explicitly, then delete.
    script = []
    fixed = int(FAKE_TIME)
    for directory in [""] + directories:
        when = min([t for p, t in volume.times.items() if p.startswith(directory)] or [fixed])
        for field_name in ("atime", "mtime", "ctime", "crtime"):
            script.append(f"sif /{directory} {field_name} {_stamp(when)}")
    for relative, when in sorted(volume.times.items()):
        for field_name in ("atime", "mtime", "ctime", "crtime"):
            script.append(f"sif /{relative} {field_name} {_stamp(when)}")
    for relative in volume.delete:
        script.append(f"rm /{relative}")
    commands = work / (path.name + ".debugfs")
    commands.write_text("\n".join(script) + "\n", encoding="utf-8")
    run("debugfs", "-w", "-f", str(commands), str(path))


def build_fat(path: Path, volume: Volume, work: Path) -> None:
    with open(path, "wb") as stream:
        stream.truncate(volume.size_mib << 20)
    bits = "32" if volume.fs == "fat32" else "16"
    run("mkfs.vfat", "-F", bits, "-n", volume.label, "-i", volume.volume_id, "--invariant", str(path))
    staging = work / (path.name + ".d")
    _stage(staging, volume)
    made: set[str] = set()
    for relative in sorted(volume.files):
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            if directory not in made:
                run("mmd", "-i", str(path), "::/" + directory)
                made.add(directory)
        run("mcopy", "-m", "-i", str(path), str(staging / relative), "::/" + relative)
    for relative in volume.delete:
        run("mdel", "-i", str(path), "::/" + relative)


def build_disk(path: Path, volumes: list[tuple[Path, str]]) -> list[int]:
    """An MBR disk holding the volume images in order; returns their start sectors."""
    start, starts = 2048, []
    for volume, _type in volumes:
        starts.append(start)
        start += (volume.stat().st_size + SECTOR - 1) // SECTOR + 2048
    with open(path, "wb") as stream:
        stream.truncate((start + 2048) * SECTOR)
    script = "label: dos\nlabel-id: 0x0b0e0d0c\n" + "".join(
        f"start={s}, size={v.stat().st_size // SECTOR}, type={t}\n" for s, (v, t) in zip(starts, volumes))
    run("sfdisk", "--no-reread", "--no-tell-kernel", str(path), input=script.encode())
    with open(path, "r+b") as disk:
        for s, (volume, _type) in zip(starts, volumes):
            disk.seek(s * SECTOR)
            with open(volume, "rb") as source:
                shutil.copyfileobj(source, disk)
    return starts


def acquire_e01(raw: Path, target_stem: Path, case_number: str, description: str, examiner: str,
                evidence_number: str, notes: str) -> Path:
    """ewfacquire under the frozen clock: the header's acquisition and system
    dates are FROZEN (UTC), so the E01 is the same bytes every time."""
    run("ewfacquire", "-u", "-q", "-t", str(target_stem), "-c", "deflate:fast", "-C", case_number,
        "-D", description, "-e", examiner, "-E", evidence_number, "-N", notes,
        "-m", "fixed", "-M", "physical", "-d", "sha1", str(raw))
    return target_stem.with_suffix(".E01")
