"""A scan forks its worker processes and its output-writer lanes while the
scanning process runs no other thread. A thread running at a fork may hold a
lock (the console's, a standard stream's) that the child then waits for
forever; Python 3.12 warns of it ("This process ... is multi-threaded, use of
fork() may lead to deadlocks in the child").

The scan runs as an examiner runs it: `triage scan` with its standard error
on a terminal (a pseudo-terminal here), so the progress display is shown. A
fork hook installed before anything else (so it runs after every other
before-fork hook) records the threads alive at each fork."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from evidence_builders import load_report, make_ext4, regular_files, write_tree

RECORDING_TRIAGE = r"""
import json, os, sys, threading

def _record_threads():
    with open(os.environ["FORK_RECORD"], "a") as record:
        record.write(json.dumps([t.name for t in threading.enumerate()]) + "\n")

os.register_at_fork(before=_record_threads)
from traffick_triage.cli import main
sys.argv = ["triage", *sys.argv[1:]]
main()
"""


def _scan_on_a_terminal(evidence: Path, case_dir: Path, record: Path, *options: str) -> tuple[int, bytes]:
    controller, terminal = os.openpty()
    env = {**os.environ, "FORK_RECORD": str(record), "TERM": "xterm", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-c", RECORDING_TRIAGE, "scan", str(evidence), "-o", str(case_dir),
                                *options], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal, env=env)
    os.close(terminal)
    shown = bytearray()

    def drain() -> None:     # the display must not fill the terminal's buffer and stall the scan
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:      # EIO: the scan closed the terminal's last writer
                return
            if not data:
                return
            shown.extend(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        process.communicate(timeout=300)
    finally:
        reader.join(timeout=10)
        os.close(controller)
    return process.returncode, bytes(shown)


@pytest.mark.skipif(not hasattr(os, "register_at_fork") or not os.path.isdir("/proc/self/task"), reason="POSIX only")
def test_scan_with_progress_display_forks_with_one_thread(tmp_path):
    evidence = tmp_path / "evidence"
    write_tree(evidence, {f"dir{i}/file{j}.txt": f"file {i} {j}\n".encode() * (j + 1)
                          for i in range(3) for j in range(20)})
    record = tmp_path / "forks.jsonl"
    code, shown = _scan_on_a_terminal(evidence, tmp_path / "case", record, "--workers", "2", "--no-plugins")
    assert code == 0, shown.decode(errors="replace")
    assert b"scanning" in shown, "the progress display was not shown, so it was not tested"
    forks = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(forks) >= 2, "the scan forked neither its two workers nor any lane"
    assert all(threads == ["MainThread"] for threads in forks), forks
    assert len(regular_files(load_report(tmp_path / "case"))) == 60
    # The display changes nothing in the case: report.json is the one a --quiet scan writes.
    quiet = subprocess.run([sys.executable, "-m", "traffick_triage", "scan", str(evidence), "-o", str(tmp_path / "quiet"),
                            "--workers", "2", "--no-plugins", "--quiet"], capture_output=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert (tmp_path / "case" / "report.json").read_bytes() == (tmp_path / "quiet" / "report.json").read_bytes()


@pytest.mark.skipif(not hasattr(os, "register_at_fork") or not os.path.isdir("/proc/self/task"), reason="POSIX only")
def test_image_scan_forks_its_output_lanes_after_its_hashing_threads_end(tmp_path):
    """An image's own hashes are taken in threads beside the walk, each with an
    MD5 helper thread (evidence_hashing): all gone before the output lanes fork."""
    image = make_ext4(tmp_path / "disk.raw", {f"d/{n:02d}.bin": bytes([n]) * (20000 + n) for n in range(30)},
                      size_kib=8192)
    record = tmp_path / "forks.jsonl"
    code, shown = _scan_on_a_terminal(image, tmp_path / "case", record, "--workers", "2", "--no-plugins")
    assert code == 0, shown.decode(errors="replace")
    forks = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(forks) >= 3, "the scan forked neither its two workers nor a lane after hashing the image"
    assert all(threads == ["MainThread"] for threads in forks), forks
    assert load_report(tmp_path / "case")["evidence"][0]["hashes"]["md5"]


@pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="POSIX only")
def test_progress_display_redraws_again_after_a_fork():
    from traffick_triage.cli import _Redrawer

    class Bar:
        def __init__(self) -> None:
            self.redraws = 0

        def refresh(self) -> None:
            self.redraws += 1

    bar = Bar()
    with _Redrawer(bar, per_second=100):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        before = bar.redraws
        for _ in range(500):
            if bar.redraws >= before + 3:
                break
            threading.Event().wait(0.01)
        assert bar.redraws >= before + 3, "the display stopped redrawing after the fork"
    assert [t.name for t in threading.enumerate() if t.name == "progress-display"] == []


class _Tracked:
    """Garbage in a reference cycle that records the process freeing it."""

    def __init__(self, record: Path) -> None:
        self.record, self.cycle = str(record), self

    def __del__(self) -> None:
        fd = os.open(self.record, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)


def _collect_in_lane(store, case_dir):
    import gc
    gc.collect()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
@pytest.mark.parametrize("forker", ["worker pool", "output lanes"])
def test_garbage_is_freed_before_a_fork_not_in_the_child(tmp_path, forker):
    """A worker or a lane collecting garbage it inherited frees objects whose
    library threads the fork did not copy: PyAV 19's FFmpeg scaler then waits
    for its slice threads forever (a scan under Python 3.13 hung so, in a
    worker freeing a scaler the test process had left in a cycle)."""
    import gc

    from traffick_triage.entry_processing import Processing
    from traffick_triage.executors import LocalPool
    from traffick_triage.report.side_by_side import cores, run_writers
    from traffick_triage.store import CaseStore

    if forker == "output lanes" and cores() < 2:
        pytest.skip("the writers run in this process on one core")
    record = tmp_path / "freed-by"
    enabled = gc.isenabled()
    gc.disable()        # the garbage stays until someone collects it
    try:
        _Tracked(record)
        if forker == "worker pool":
            pool = LocalPool(2, Processing(plugins=[], hashsets=None, plugin_options={}, plugin_timeout=1), {}, {})
            try:
                for _ in range(4):
                    pool._pool.submit(gc.collect).result()
            finally:
                pool.close()
        else:
            (tmp_path / "case").mkdir()
            store = CaseStore(tmp_path / "case")
            try:
                run_writers(store, tmp_path / "case", [_collect_in_lane, _collect_in_lane])
            finally:
                store.close()
        gc.collect()
    finally:
        if enabled:
            gc.enable()
    assert record.read_text().split() == [str(os.getpid())]
