"""Runs one plugin on one file, isolated: an exception or a time-out becomes a
warning naming plugin, version and locator, and the scan goes on.

The engine uses this for every dispatch; tests use it directly to run a
plugin on a host file without a full scan (``file_view_for_path``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import signal
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

from .plugin_api import Finding, Plugin
from .scratch import temporary_folder

DEFAULT_PLUGIN_TIMEOUT = 60.0   # seconds per plugin per file
_COPY_CHUNK = 1 << 20


@dataclass
class EvidenceFileView:
    """A FileView whose bytes come from an opener callable (a file inside an
    image, an archive member, a host file)."""

    locator: str
    path: str
    size: int
    mime: str
    md5: str
    sha1: str
    sha256: str
    opener: Callable[[], IO[bytes]]
    allocated: bool = True
    sibling_lookup: Callable[[str], "EvidenceFileView | None"] | None = None

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def open(self) -> IO[bytes]:
        return self.opener()

    def read(self, max_bytes: int | None = None) -> bytes:
        with self.open() as stream:
            return stream.read() if max_bytes is None else stream.read(max_bytes)

    def sibling(self, name: str) -> "EvidenceFileView | None":
        return self.sibling_lookup(name) if self.sibling_lookup else None


def file_view_for_path(path: str | os.PathLike[str], mime: str | None = None,
                       locator: str | None = None,
                       inner_path: str | None = None) -> EvidenceFileView:
    """A FileView over a host file (tests, and plugins run by hand). Siblings
    are looked up in the same host directory."""
    host = Path(path)
    data_hashes = _hash_host_file(host)
    if mime is None:
        from .filetype import sniff_mime

        with open(host, "rb") as stream:
            mime = sniff_mime(stream.read(65536))

    def sibling(name: str) -> EvidenceFileView | None:
        candidate = host.parent / name
        if candidate.is_file():
            return file_view_for_path(candidate, locator=(locator or host.name).rsplit(host.name, 1)[0] + name,
                                      inner_path=(inner_path or host.name).rsplit(host.name, 1)[0] + name)
        return None

    return EvidenceFileView(
        locator=locator or host.name, path=inner_path or host.name, size=host.stat().st_size,
        mime=mime, opener=lambda: open(host, "rb"), sibling_lookup=sibling, **data_hashes)


def _hash_host_file(path: Path) -> dict[str, str]:
    digests = {name: hashlib.new(name) for name in ("md5", "sha1", "sha256")}
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_COPY_CHUNK), b""):
            for digest in digests.values():
                digest.update(chunk)
    return {name: digest.hexdigest() for name, digest in digests.items()}


class PluginTimeout(Exception):
    pass


@dataclass
class PluginContext:
    """The Context a plugin receives; one per (plugin, file)."""

    options: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    _temp_dirs: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(str(message))

    def temp_copy(self, file: Any, companions: Sequence[str] = ()) -> Path:
        # In the case folder's scratch area during a scan (scratch.py): a copy of
        # evidence never lands in the system temporary folder, and one a killed
        # scan left behind is removed when the next scan of the case starts.
        workdir = temporary_folder("triage-copy-")
        self._temp_dirs.append(workdir)
        target = Path(workdir) / _safe_name(file.name)
        _copy_verified(file, target)
        for suffix in companions:
            companion = file.sibling(file.name + suffix)
            if companion is not None:
                _copy_verified(companion, Path(str(target) + suffix))
        # The copy is read-only: even a library that tries to write to it fails.
        # The directory stays writable because SQLite must be able to create
        # its own -shm/-wal beside a WAL database to read it.
        for entry in Path(workdir).iterdir():
            entry.chmod(stat.S_IRUSR | stat.S_IRGRP)
        return target

    def cleanup(self) -> None:
        for workdir in self._temp_dirs:
            shutil.rmtree(workdir, ignore_errors=True)
        self._temp_dirs.clear()


def _safe_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)[:100]
    return cleaned or "file"


def _copy_verified(file: Any, target: Path) -> None:
    digest = hashlib.sha256()
    with file.open() as source, open(target, "xb") as sink:
        for chunk in iter(lambda: source.read(_COPY_CHUNK), b""):
            digest.update(chunk)
            sink.write(chunk)
    if file.sha256 and digest.hexdigest() != file.sha256:
        raise OSError(f"temporary copy of {file.locator} does not match its inventory SHA-256")


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """SIGALRM-based limit; only possible in a process's main thread, which is
    where the engine and its worker processes run plugins."""
    usable = (seconds and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise PluginTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class PluginRun:
    findings: list[Finding]
    warnings: list[str]


def run_plugin(plugin: Plugin, file: Any, options: dict[str, Any] | None = None,
               timeout: float | None = DEFAULT_PLUGIN_TIMEOUT,
               on_finding: Callable[[Finding], None] | None = None) -> PluginRun:
    """Run ``plugin`` on ``file``; never raises for plugin errors. Findings
    yielded before an error are kept; the error is one warning line.

    ``on_finding``: each finding is handed to it as the plugin yields it, and
    not kept in the PluginRun: the scan passes its spool, as one file can hold
    more findings than should be in memory at once (a phone's messages)."""
    ctx = PluginContext(options=dict(options or {}))
    findings: list[Finding] = []
    keep = findings.append if on_finding is None else on_finding
    label = f"plugin {plugin.NAME} {plugin.VERSION} on {file.locator}"
    try:
        with _time_limit(timeout):
            for finding in plugin.extract(file, ctx):
                if not isinstance(finding, Finding):
                    raise TypeError(f"yielded {type(finding).__name__}, not a Finding")
                keep(finding)
    except PluginTimeout:
        ctx.warn(f"{label}: timed out after {timeout:g} s; findings so far kept")
    except MemoryError:
        ctx.warn(f"{label}: ran out of memory")
    except Exception as error:  # noqa: BLE001 - isolation is the point here
        ctx.warn(f"{label}: {type(error).__name__}: {error}")
    finally:
        ctx.cleanup()
    return PluginRun(findings=findings, warnings=ctx.warnings)


def bytes_file_view(data: bytes, name: str, mime: str = "application/octet-stream",
                    locator: str | None = None) -> EvidenceFileView:
    """A FileView over bytes in memory (tests)."""
    return EvidenceFileView(
        locator=locator or name, path=name, size=len(data), mime=mime,
        md5=hashlib.md5(data).hexdigest(), sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(), opener=lambda: io.BytesIO(data))
