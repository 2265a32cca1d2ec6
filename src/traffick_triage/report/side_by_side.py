"""Output writers side by side. Each writer only reads the finished case store,
so each can run in a process of its own (forked, with its own read-only
connection to the store), as many at once as there are cores: the outputs are
then limited by the slowest writer, not by the sum of them all.

A writer that fails raises its exception here, as if it had run in this
process (its traceback in the child is added as a note); the writers already
running finish first, so none is killed halfway through a file."""

from __future__ import annotations

import os
import pickle
import selectors
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from ..store import CaseStore

Writer = Callable[[CaseStore, Path], Any]


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_writers(store: CaseStore, case_dir: Path, writers: Sequence[Writer]) -> list[Any]:
    """Each writer's result, in the order given (which is also the order they
    start in: longest first keeps the cores busy to the end). In this process,
    one after another, where forking cannot help or cannot see the data: one
    core, no fork (Windows), or a store with uncommitted changes."""
    if cores() < 2 or not hasattr(os, "fork") or store.db.in_transaction:
        return [writer(store, case_dir) for writer in writers]
    return _forked(case_dir, writers, cores())


def _forked(case_dir: Path, writers: Sequence[Writer], jobs: int) -> list[Any]:
    results: list[Any] = [None] * len(writers)
    failures: dict[int, BaseException] = {}
    running: dict[int, tuple[int, int, bytearray]] = {}     # pipe -> (writer index, pid, bytes received)
    waiting = list(range(len(writers)))
    with selectors.DefaultSelector() as selector:
        try:
            while running or (waiting and not failures):
                while waiting and len(running) < jobs and not failures:
                    index = waiting.pop(0)
                    pipe, pid = _start(writers[index], case_dir)
                    running[pipe] = (index, pid, bytearray())
                    selector.register(pipe, selectors.EVENT_READ)
                for key, _ in selector.select():
                    index, pid, received = running[key.fd]
                    data = os.read(key.fd, 1 << 16)
                    if data:
                        received += data
                        continue
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    del running[key.fd]
                    os.waitpid(pid, 0)
                    outcome, value = pickle.loads(received) if received else ("error", _died(writers[index]))
                    if outcome == "ok":
                        results[index] = value
                    else:
                        failures[index] = value
        finally:
            # Interrupted here: the writers still running finish their files (never half a file).
            for pipe, (_, pid, _) in running.items():
                os.close(pipe)
                os.waitpid(pid, 0)
    if failures:
        raise failures[min(failures)]
    return results


def _start(writer: Writer, case_dir: Path) -> tuple[int, int]:
    """Fork a process that runs ``writer`` and sends back a pickled ("ok",
    result) or ("error", exception) through a pipe; returns (pipe end, pid)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return read_end, pid
    try:
        os.close(read_end)
        _child(writer, case_dir, write_end)
    finally:
        os._exit(0)     # never back into the parent's code, nor its atexit handlers


def _child(writer: Writer, case_dir: Path, pipe: int) -> None:
    try:
        # Another thread of the parent (a progress display) may have held the
        # standard streams' locks at the fork: fresh objects over the same files.
        sys.stdout = open(os.dup(1), "w", encoding="utf-8", errors="backslashreplace")
        sys.stderr = open(os.dup(2), "w", encoding="utf-8", errors="backslashreplace")
        store = CaseStore(case_dir, readonly=True)
        try:
            message = pickle.dumps(("ok", writer(store, case_dir)))
        finally:
            store.close()
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
        message = _failure(error)
    with open(pipe, "wb") as stream:
        stream.write(message)
    sys.stdout.flush()
    sys.stderr.flush()


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


def _died(writer: Writer) -> BaseException:
    return RuntimeError(f"the process writing {getattr(writer, '__name__', writer)} died without a result")
