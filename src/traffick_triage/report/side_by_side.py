"""Output writers side by side. Each writer only reads the finished case store,
so the writers can run in other processes: one forked process per core (a
"lane", with its own read-only connection to the store), each handed the next
writer when it is done with one. The outputs then take about the longest
writer's time, or their sum over the cores, not the sum of them all.

A writer that fails raises its exception here, as if it had run in this
process (its traceback in the lane is added as a note); the writers already
running finish first, so none is killed halfway through a file."""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import selectors
import struct
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from ..store import CaseStore

Writer = Callable[[CaseStore, Path], Any]
_INDEX = struct.Struct("!i")        # parent -> lane: the writer to run
_SIZE = struct.Struct("!Q")         # lane -> parent: the size of the pickled outcome that follows


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_writers(store: CaseStore, case_dir: Path, writers: Sequence[Writer]) -> list[Any]:
    """Each writer's result, in the order given (which is also the order they
    start in: longest first keeps the cores busy to the end). In this process,
    one after another, where lanes cannot help or cannot see the data: one
    core, no fork (Windows), or a store with uncommitted changes."""
    if cores() < 2 or not hasattr(os, "fork") or store.db.in_transaction:
        return [writer(store, case_dir) for writer in writers]
    return _in_lanes(store.path.parent, case_dir, writers, min(cores(), len(writers)))


def _in_lanes(store_dir: Path, case_dir: Path, writers: Sequence[Writer], count: int) -> list[Any]:
    results: list[Any] = [None] * len(writers)
    failures: dict[int, BaseException] = {}
    waiting = list(range(len(writers)))
    lanes: list[_Lane] = []
    # Garbage is freed here, not in a lane that inherits it: an object whose
    # library threads a fork does not copy (an FFmpeg scaler from PyAV 19, say)
    # waits for them forever when the lane's collector frees it.
    gc.collect()
    try:
        with selectors.DefaultSelector() as selector:
            for _ in range(count):
                lanes.append(_Lane(store_dir, case_dir, writers, lanes))
                lanes[-1].run(waiting.pop(0))
                selector.register(lanes[-1].results, selectors.EVENT_READ, lanes[-1])
            while selector.get_map():
                for key, _ in selector.select():
                    lane = key.data
                    outcome, value = lane.outcome()
                    if outcome == "ok":
                        results[lane.index] = value
                    else:
                        failures[lane.index] = value
                    if waiting and not failures:
                        lane.run(waiting.pop(0))
                    else:
                        selector.unregister(lane.results)
    finally:
        for lane in lanes:
            lane.close()        # a lane still writing finishes its file first
    if failures:
        raise failures[min(failures)]
    return results


class _Lane:
    """A forked process that runs the writers it is handed, one at a time."""

    def __init__(self, store_dir: Path, case_dir: Path, writers: Sequence[Writer], others: list[_Lane]) -> None:
        tasks_out, self.tasks = os.pipe()
        self.results, results_in = os.pipe()
        self.writers, self.index = writers, -1
        self.pid = os.fork()
        if self.pid:
            os.close(tasks_out)
            os.close(results_in)
            return
        try:
            # The other lanes' pipe ends: held here too, they would hide their closing.
            for other in others:
                os.close(other.tasks)
                os.close(other.results)
            os.close(self.tasks)
            os.close(self.results)
            _serve(store_dir, case_dir, writers, tasks_out, results_in)
        finally:
            os._exit(0)     # never back into the parent's code, nor its atexit handlers

    def run(self, index: int) -> None:
        self.index = index
        with contextlib.suppress(BrokenPipeError):     # a lane that died: outcome() says so
            os.write(self.tasks, _INDEX.pack(index))

    def outcome(self) -> tuple[str, Any]:
        """("ok", result) or ("error", exception) of the writer it was handed."""
        header = _read(self.results, _SIZE.size)
        data = _read(self.results, _SIZE.unpack(header)[0]) if len(header) == _SIZE.size else b""
        if not data:
            name = getattr(self.writers[self.index], "__name__", "a writer")
            return "error", RuntimeError(f"the output writer process {self.pid} died running {name}")
        return pickle.loads(data)

    def close(self) -> None:
        os.close(self.tasks)        # the lane reads the end of its tasks and exits
        os.close(self.results)
        os.waitpid(self.pid, 0)


def _read(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        piece = os.read(fd, size - len(data))
        if not piece:
            break
        data += piece
    return data


def _serve(store_dir: Path, case_dir: Path, writers: Sequence[Writer], tasks: int, results: int) -> None:
    # Another thread of the parent (a progress display) may have held the
    # standard streams' locks at the fork: fresh objects over the same files.
    with contextlib.suppress(OSError):
        sys.stdout = open(os.dup(1), "w", encoding="utf-8", errors="backslashreplace")
        sys.stderr = open(os.dup(2), "w", encoding="utf-8", errors="backslashreplace")
    store = CaseStore(store_dir, readonly=True)
    try:
        while len(task := _read(tasks, _INDEX.size)) == _INDEX.size:
            writer = writers[_INDEX.unpack(task)[0]]
            try:
                message = pickle.dumps(("ok", writer(store, case_dir)))
            except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
                message = _failure(error)
            os.write(results, _SIZE.pack(len(message)))
            _write_all(results, message)
    finally:
        store.close()
        sys.stdout.flush()
        sys.stderr.flush()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _failure(error: BaseException) -> bytes:
    """The exception, pickled, with this process's traceback as a note; one
    the parent could not unpickle becomes a RuntimeError saying the same."""
    details = traceback.format_exc()
    error.add_note(f"in the output writer process {os.getpid()}:\n{details}")
    try:
        message = pickle.dumps(("error", error))
        pickle.loads(message)
    except Exception:  # noqa: BLE001 - e.g. an exception class whose arguments do not round-trip
        message = pickle.dumps(("error", RuntimeError(f"{type(error).__name__}: {error}\n{details}")))
    return message
