"""Where batches of entries are processed: forked worker processes on this
machine, or a Dask distributed cluster (``--scheduler tcp://HOST:PORT``)
whose workers read the evidence from shared storage at the same paths.

Both run the same pure function (entry_processing.process_entry) and hand
back plain results; only the scanning process writes the case store, so a
worker that dies loses nothing: its batch runs again elsewhere and the report
is the same."""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .entry_processing import EntryResult, EntryTask, Processing, process_entry
from .sources.detect import open_source


def _open_cached(sources: dict[str, Any], paths: dict[str, str], options: dict[str, Any], evidence_id: str) -> Any:
    source = sources.get(evidence_id)
    if source is None:
        path = paths[evidence_id]
        source = open_source(path, options, display_name=os.path.basename(os.path.normpath(path)))
        sources[evidence_id] = source
    return source


# -- local worker processes ---------------------------------------------------------------

# Set in the scanning process just before the pool forks: the workers inherit
# the loaded plugins and hash sets instead of loading them again.
_FORKED_STATE: dict[str, Any] = {}


def _process_in_forked_worker(batch: list[EntryTask]) -> list[EntryResult]:
    state = _FORKED_STATE
    return [process_entry(task, _open_cached(state["sources"], state["paths"], state["source_options"],
                                             task.evidence_id), state["processing"]) for task in batch]


def _leave_interrupts_to_the_scan() -> None:
    """Ctrl-C reaches every process of the terminal's group: a worker waiting
    for its next batch would die of it with a multiprocessing traceback. The
    scanning process alone handles it (it stops the pool and says how to resume)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalPool:
    def __init__(self, workers: int, processing: Processing, paths: dict[str, str],
                 source_options: dict[str, Any]) -> None:
        _FORKED_STATE.clear()
        _FORKED_STATE.update(processing=processing, sources={}, paths=paths, source_options=source_options)
        self.capacity = 2 * workers
        # Garbage is freed here, not in a worker that inherits it: an object
        # whose library threads a fork does not copy (an FFmpeg scaler from
        # PyAV 19, say) waits for them forever when a worker's collector frees it.
        gc.collect()
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_leave_interrupts_to_the_scan)
        # Fork every worker now, while this process runs one thread: the pool
        # would fork on its first batch, when the evidence hashes are already
        # being taken in a thread (evidence_hashing) whose locks a fork copies.
        self._pool.submit(os.getpid).result()

    def submit(self, batch: list[EntryTask]) -> Any:
        return self._pool.submit(_process_in_forked_worker, batch)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# -- a Dask cluster -------------------------------------------------------------------------

# One per Dask worker process: what it built from a WorkerSpec, keyed by the spec's hash.
_DASK_STATE: dict[str, dict[str, Any]] = {}


def _processing_from_spec(spec: dict[str, Any]) -> Processing:
    from .matching import load_hashsets
    from .registry import load_plugins

    plugins = [] if spec["no_plugins"] else load_plugins(spec["plugin_dirs"], spec["only"], spec["skip"])
    hashsets = load_hashsets(spec["hashset_paths"]) if spec["hashset_paths"] else None
    return Processing(plugins=plugins, hashsets=hashsets, plugin_options=spec["plugin_options"],
                      plugin_timeout=spec["plugin_timeout"])


def process_batch_on_dask_worker(spec: dict[str, Any], batch: list[EntryTask]) -> list[EntryResult]:
    """Runs on a Dask worker: builds (once) the same plugins and hash sets as
    the scanning process, opens the evidence from shared storage, processes."""
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    state = _DASK_STATE.get(key)
    if state is None:
        state = {"processing": _processing_from_spec(spec), "sources": {}}
        _DASK_STATE[key] = state
    return [process_entry(task, _open_cached(state["sources"], spec["paths"], spec["source_options"],
                                             task.evidence_id), state["processing"]) for task in batch]


class ClusterError(Exception):
    """The cluster back-end cannot be used (one clear line for the user)."""


class DaskPool:
    """Batches as Dask tasks; a task whose worker dies is retried on another."""

    def __init__(self, scheduler: str, spec: dict[str, Any], retries: int = 5) -> None:
        try:
            from distributed import Client
        except ImportError as error:
            raise ClusterError("the Dask back-end needs the 'cluster' extra "
                               "(pip install 'traffick-triage[cluster]')") from error
        try:
            self._client = Client(scheduler, timeout="30s")
        except (OSError, ValueError) as error:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from error
        workers = len(self._client.scheduler_info().get("workers", {})) or 1
        self.capacity = 4 * workers
        self._spec = spec
        self._retries = retries

    def submit(self, batch: list[EntryTask]) -> Any:
        return self._client.submit(process_batch_on_dask_worker, self._spec, batch, pure=False,
                                   retries=self._retries)

    def close(self) -> None:
        self._client.close()
