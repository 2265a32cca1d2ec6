"""The findings of one file on their way from the process that ran the plugins
to the case store, without ever all being in memory at once.

One file can hold hundreds of thousands of findings (a phone's mmssms.db: one
per message). Held as a list, they would sit in the worker, then be pickled
as one piece and unpickled whole in the scanning process: a seized phone would
need gigabytes. A FindingSpool keeps the first few in memory and appends the
rest to a file; pickling it (to cross from a worker) carries the file's name,
not its content, and the scanning process reads the records back one at a time
while it stores them, then deletes the file.

The file is a hidden ``.partial`` in the case folder (where the examiner made
room for the case; $TMPDIR is often small or RAM): the manifest never lists
such temporary files, and a scan started again removes any a killed scan left.
Without a folder (a Dask cluster's workers do not share the case folder) the
spool keeps everything in memory, as a list would."""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator

HELD_IN_MEMORY = 256            # findings kept in memory before the rest go to the file
_PREFIX, _SUFFIX = ".finding-spool-", ".partial"


def remove_leftovers(directory: str | os.PathLike[str]) -> None:
    """Spool files a killed scan left in ``directory`` (nothing else reads them)."""
    for path in Path(directory).glob(f"{_PREFIX}*{_SUFFIX}"):
        with contextlib.suppress(OSError):
            path.unlink()


class FindingSpool:
    """An append-only sequence of findings (any picklable values), iterated in
    the order they were appended. Iterate it once, with drain()."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, held_in_memory: int | None = None) -> None:
        self._directory = None if directory is None else os.fspath(directory)
        self._limit = HELD_IN_MEMORY if held_in_memory is None else held_in_memory
        self._held: list[Any] = []
        self._path: str | None = None
        self._file: BinaryIO | None = None
        self._spilled = 0

    def append(self, finding: Any) -> None:
        if len(self._held) < self._limit or self._directory is None:
            self._held.append(finding)
            return
        if self._file is None:
            handle, self._path = tempfile.mkstemp(prefix=_PREFIX, suffix=_SUFFIX, dir=self._directory)
            self._file = os.fdopen(handle, "wb")
        pickle.dump(finding, self._file, pickle.HIGHEST_PROTOCOL)
        self._spilled += 1

    def __len__(self) -> int:
        return len(self._held) + self._spilled

    def __bool__(self) -> bool:
        return len(self) > 0

    def drain(self) -> Iterator[Any]:
        """Every finding in order, the spilled ones read back one at a time;
        the file is deleted once read (or when the reader stops early)."""
        yield from self._held
        if self._path is None:
            return
        self._close_file()
        try:
            with open(self._path, "rb") as stream:
                for _ in range(self._spilled):
                    yield pickle.load(stream)
        finally:
            self.discard()

    def discard(self) -> None:
        """Delete the file, if any (the findings are no longer needed)."""
        self._close_file()
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)
            self._path = None

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # Crossing to another process (a worker's result): the file's name travels,
    # and from then on the receiving process owns the file.
    def __getstate__(self) -> dict[str, Any]:
        self._close_file()
        return {"_directory": self._directory, "_limit": self._limit, "_held": self._held,
                "_path": self._path, "_spilled": self._spilled}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._file = None
