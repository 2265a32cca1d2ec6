"""Evidence never makes the tool read outside itself, nor write into itself
(issue 16, items 2, 3, 10 and 11).

Every scan here is a subprocess with a time-out, traced with strace (every
open/openat of the scan and of the processes it forks, C libraries such as
libvmdk and SQLite included; a Python audit hook on 'open' where strace is
missing), and checks: the scan ends by itself with the exit code the issue
asks for; the hostile reference is named in a warning; a control file beside
it is intact; the evidence bytes are unchanged; no file outside the evidence
(a planted secret, /dev/zero) was opened; no temporary copy outlives the scan.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence_builders import make_ext4, tree_hashes
from test_sources_itunes import make_backup, mbfile_blob

from traffick_triage.sources.confine import ConfinementError, confined_file

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)
STRACE = shutil.which("strace")
QEMU_IMG = shutil.which("qemu-img")
_OPENED = re.compile(r'open(?:at2?)?\((?:AT_FDCWD, )?"((?:[^"\\]|\\.)*)"')

# A Python audit hook on every open, for machines without strace: what the
# scan and the workers it forks open through Python (not through C libraries).
AUDIT_WRAPPER = """
import os, sys
_log = os.open(os.environ["TRIAGE_OPEN_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
def _hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        os.write(_log, os.fsencode(os.path.abspath(args[0])) + b"\\n")
sys.addaudithook(_hook)
from traffick_triage.cli import main
sys.argv[0] = "triage"
main()
"""


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "TMPDIR": str(system_tmp), **extra}


def traced_triage(tmp_path: Path, *args: str, timeout: float = 180, env: dict[str, str] | None = None
                  ) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `triage ARGS` traced; (the completed process, every path it opened)."""
    log = tmp_path / f"opened-{time.monotonic_ns()}.log"
    env = env or _environment(tmp_path)
    if STRACE:
        command = [STRACE, "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", str(log),
                   str(PYTHON), "-m", "traffick_triage", *args]
    else:
        env = {**env, "TRIAGE_OPEN_LOG": str(log)}
        command = [str(PYTHON), "-c", AUDIT_WRAPPER, *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    opened = set(_OPENED.findall(text)) if STRACE else set(text.splitlines())
    return result, {os.path.normpath(os.path.join(tmp_path, path)) for path in opened}


def assert_not_opened(opened: set[str], *forbidden: Path | str) -> None:
    assert opened, "the trace recorded no open at all: the check would be empty"
    for target in forbidden:
        target = os.path.realpath(target)
        hits = [p for p in opened if p == target or p.startswith(target.rstrip("/") + "/")
                or os.path.realpath(p) == target]
        assert not hits, f"the scan opened {hits} outside the evidence"


def report_of(case: Path) -> dict:
    return json.loads((case / "report.json").read_text(encoding="utf-8"))


def warning_naming(report: dict, *words: str) -> dict:
    found = [w for w in report["warnings"]
             if all(word.lower() in (w["message"] + " " + (w.get("locator") or "")).lower() for word in words)]
    assert found, f"no warning with {words}: {[w['message'] for w in report['warnings']]}"
    return found[0]


def assert_hashed(report: dict, path_suffix: str, data: bytes) -> None:
    rows = [f for f in report["files"] if f["path"].endswith(path_suffix)]
    assert rows, f"{path_suffix} not in the report"
    assert (rows[0]["size"], rows[0]["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())


def no_temporary_copies(tmp_path: Path, case: Path) -> None:
    assert not list((tmp_path / "system-tmp").iterdir()), "something left in the system temp folder"
    scratch = case / ".scratch"
    assert not scratch.exists() or not list(scratch.iterdir()), "a temporary copy outlived the scan"


def _tree(*paths: Path) -> dict[str, str]:
    files = [p for root in paths for p in ([root] if root.is_file() else sorted(root.rglob("*")))
             if p.is_file() and not p.is_symlink()]
    return tree_hashes(files)


# -- item 3: an iTunes Manifest.db fileID that climbs out ----------------------------------------


def test_itunes_fileid_with_dotdot_or_absolute_is_not_followed(tmp_path):
    backup = tmp_path / "held" / "backup"
    planted = make_backup(backup)
    # The stored name is fileID[:2]/fileID: "../outside/secret.db-wal" -> held/backup/../../outside/...
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.db-wal").write_bytes(b"the examiner's own file\n" * 10)
    manifest = backup / "Manifest.db"
    connection = sqlite3.connect(manifest)
    connection.execute("UPDATE Files SET fileID = '../outside/secret.db-wal' WHERE relativePath = ?",
                       ("Library/SMS/sms.db-wal",))
    connection.execute("INSERT INTO Files VALUES (?, 'HomeDomain', 'Library/abs.txt', 1, ?)",
                       (str(outside / "secret.db-wal"), mbfile_blob(10, "Library/abs.txt")))
    connection.commit()
    connection.close()
    before = _tree(backup, outside)
    case = tmp_path / "case"

    result, opened = traced_triage(tmp_path, "scan", str(backup), "-o", str(case), "-q", "--workers", "1")

    assert result.returncode == 1, result.stderr
    assert _tree(backup, outside) == before
    assert_not_opened(opened, outside)
    report = report_of(case)
    warning_naming(report, "fileID", "../outside/secret.db-wal", "HomeDomain/Library/SMS/sms.db-wal")
    warning_naming(report, "fileID", "HomeDomain/Library/abs.txt")
    notes = "AppDomain-net.whatsapp.WhatsApp/Documents/notes.txt"
    assert_hashed(report, notes, planted[notes])
    # The message in sms.db is still read (its WAL companion, now unreachable, is not).
    assert any(f["kind"] == "comms.message" for f in report["findings"])
    no_temporary_copies(tmp_path, case)


# -- item 3: VMDK extents that leave the image's folder ------------------------------------------


def _flat_vmdk(folder: Path, extent_name: str | None) -> Path:
    """A monolithicFlat VMDK from qemu-img; its descriptor's extent renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = folder / "disk.vmdk"
    subprocess.run([QEMU_IMG, "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat",
                    str(descriptor), "1M"], check=True)
    if extent_name is not None:
        text = descriptor.read_text()
        descriptor.write_text(text.replace('"disk-flat.vmdk"', json.dumps(extent_name)))
    return descriptor


@pytest.mark.skipif(QEMU_IMG is None, reason="qemu-img (apt package qemu-utils) is not installed")
@pytest.mark.parametrize("extent,plant", [
    ("../outside/zero", "same-name-beside"),     # dfVFS read ./zero while ../outside/zero was hashed
    ("/dev/zero", "same-name-beside"),           # read for ever before
    ("zero", "symlink-to-dev-zero"),
    ("zero", "symlink-to-outside"),
    ("zero", "fifo"),
])
def test_vmdk_extent_outside_its_folder_is_refused(tmp_path, extent, plant):
    evidence = tmp_path / "evidence"
    descriptor = _flat_vmdk(evidence, extent)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "zero").write_bytes(b"\x00" * (1 << 20))
    if plant == "same-name-beside":
        shutil.copy(evidence / "disk-flat.vmdk", evidence / "zero")
    elif plant == "symlink-to-dev-zero":
        os.symlink("/dev/zero", evidence / "zero")
    elif plant == "symlink-to-outside":
        os.symlink(outside / "zero", evidence / "zero")
    else:
        os.mkfifo(evidence / "zero")
    control_dir = tmp_path / "control"
    control_dir.mkdir()
    control = b"control file beside a hostile VMDK\n" * 5
    (control_dir / "control.txt").write_bytes(control)
    before = _tree(evidence, control_dir)
    case = tmp_path / "case"

    result, opened = traced_triage(tmp_path, "scan", str(descriptor), str(control_dir), "-o", str(case),
                                   "-q", "--no-plugins", "--workers", "1", timeout=120)

    assert result.returncode == 1, result.stderr
    assert _tree(evidence, control_dir) == before
    assert_not_opened(opened, outside, "/dev/zero", evidence / "zero")
    report = report_of(case)
    warning_naming(report, "VMDK extent", "refused")
    assert_hashed(report, "control.txt", control)
    hashdeep = (case / "evidence.hashdeep").read_text()
    assert "zero" not in hashdeep and str(outside) not in hashdeep
    no_temporary_copies(tmp_path, case)


@pytest.mark.skipif(QEMU_IMG is None, reason="qemu-img (apt package qemu-utils) is not installed")
def test_vmdk_extent_beside_the_descriptor_is_read_and_hashed(tmp_path):
    """The confinement refuses only what leaves the folder: a normal flat VMDK
    still opens, and its extent file is among the hashed host files."""
    descriptor = _flat_vmdk(tmp_path / "evidence", None)
    case = tmp_path / "case"

    result, _ = traced_triage(tmp_path, "scan", str(descriptor), "-o", str(case), "-q", "--no-plugins",
                              "--workers", "1")

    assert result.returncode in (0, 1), result.stderr
    report = report_of(case)
    assert not [w for w in report["warnings"] if "extent" in w["message"]]
    assert "disk-flat.vmdk" in (case / "evidence.hashdeep").read_text()


# -- item 2: a FIFO (or a link out) named like the next split segment ----------------------------


@pytest.mark.parametrize("plant", ["fifo", "symlink-to-outside", "symlink-to-dev-zero"])
def test_split_segment_that_is_not_a_regular_file_of_the_folder_is_refused(tmp_path, plant):
    control = b"control file in the first segment\n" * 9
    image = make_ext4(tmp_path / "build.img", {"control.txt": control})
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    shutil.copy(image, evidence / "disk.001")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"the examiner's own file\n")
    if plant == "fifo":
        os.mkfifo(evidence / "disk.002")
    elif plant == "symlink-to-outside":
        os.symlink(outside / "secret", evidence / "disk.002")
    else:
        os.symlink("/dev/zero", evidence / "disk.002")
    before = _tree(evidence)
    case = tmp_path / "case"

    result, opened = traced_triage(tmp_path, "scan", str(evidence / "disk.001"), "-o", str(case), "-q",
                                   "--no-plugins", "--workers", "1", timeout=120)

    assert result.returncode == 1, result.stderr
    assert _tree(evidence) == before
    assert_not_opened(opened, outside, "/dev/zero", evidence / "disk.002")
    report = report_of(case)
    warning_naming(report, "split segment disk.002 refused")
    assert_hashed(report, "control.txt", control)


# -- item 2: an iTunes Manifest.db whose Files is an endless view --------------------------------


def _endless_files_view(backup: Path) -> None:
    """Files replaced by a view over a recursive query that never ends (the
    real rows kept in another table, so the view has the backup's columns)."""
    connection = sqlite3.connect(backup / "Manifest.db")
    connection.executescript("""
        ALTER TABLE Files RENAME TO RealFiles;
        CREATE VIEW Files AS
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
          SELECT r.fileID, r.domain, r.relativePath, r.flags, r.file
          FROM n JOIN RealFiles r ON 1 WHERE i < 0;
    """)
    connection.commit()
    connection.close()


def test_itunes_manifest_files_view_over_an_endless_query_ends_with_one_warning(tmp_path):
    backup = tmp_path / "backup"
    planted = make_backup(backup)
    _endless_files_view(backup)
    before = _tree(backup)
    case = tmp_path / "case"

    scanned = _triage(tmp_path, "scan", str(backup), "-o", str(case), "-q", "--workers", "1", timeout=180)
    info = _triage(tmp_path, "info", str(backup), timeout=120)

    assert scanned.returncode == 1, scanned.stderr
    assert "Traceback" not in scanned.stderr + info.stderr
    report = report_of(case)
    assert report["evidence"][0]["kind"] == "itunes-backup"
    manifest_warnings = [w for w in report["warnings"] if "Manifest.db" in w["message"]]
    assert len(manifest_warnings) == 1, manifest_warnings
    assert "Files is a view" in manifest_warnings[0]["message"]
    # The stored files are still inventoried, under their stored names.
    stray = next(name for name in planted if name.startswith("ff/"))
    assert_hashed(report, stray, planted[stray])
    notes = [f for f in report["files"] if f["sha256"] == hashlib.sha256(planted[
        "AppDomain-net.whatsapp.WhatsApp/Documents/notes.txt"]).hexdigest()]
    assert notes and any("Manifest.db not readable" in note for note in notes[0]["notes"])
    assert info.returncode == 1, info.stderr
    described = json.loads(info.stdout)
    assert described["manifest_readable"] is False
    assert [w for w in described["warnings"] if "Files is a view" in w]
    assert _tree(backup) == before
    no_temporary_copies(tmp_path, case)


def test_itunes_manifest_read_stops_at_the_bounds_with_a_warning(tmp_path, monkeypatch):
    # The same bounds as plugins' queries: with a row cap of 3 the read of a
    # real Files table stops there, names Manifest.db, and keeps the rows read.
    from traffick_triage.sources import itunes_backup
    from traffick_triage.sqlite_access import SqliteBounds

    backup = tmp_path / "backup"
    make_backup(backup)
    monkeypatch.setattr(itunes_backup, "MANIFEST_BOUNDS", SqliteBounds(max_rows_per_query=3))
    source = itunes_backup.ItunesBackupSource(str(backup), "backup")
    warnings = source.take_warnings()
    assert len(source.rows) == 3
    assert [w for w in warnings if "Manifest.db" in w.message and "more than 3 rows" in w.message], warnings
    oracle = sqlite3.connect(backup / "Manifest.db").execute(
        "SELECT domain, relativePath FROM Files ORDER BY domain, relativePath, fileID LIMIT 3").fetchall()
    assert [(row["domain"], row["relative_path"]) for row in source.rows] == oracle


# -- item 2: temporary copies live in the case folder and survive no scan ------------------------

SLOW_COPY_PLUGIN = '''
import os, time
from traffick_triage.plugin_api import Plugin, Selector


class SlowCopy(Plugin):
    NAME = "slow_copy"
    VERSION = "1.0.0"
    DESCRIPTION = "Takes a temporary copy, then waits (tests only)"
    SELECTOR = Selector(globs=("*.db",))

    def extract(self, file, ctx):
        path = ctx.temp_copy(file)
        open(os.environ["SLOW_COPY_READY"], "w").write(str(path))
        if os.environ.get("SLOW_COPY_WAIT"):
            time.sleep(300)
        return iter(())
'''


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def test_temporary_copies_are_in_the_case_scratch_and_removed_after_sigkill(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    database = b"SQLite format 3\x00" + b"\x00" * 1000
    (evidence / "app.db").write_bytes(database)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "slow_copy.py").write_text(SLOW_COPY_PLUGIN)
    case = tmp_path / "case"
    ready = tmp_path / "copy-made"
    command = [str(PYTHON), "-m", "traffick_triage", "scan", str(evidence), "-o", str(case), "-q",
               "--only", "slow_copy", "--plugin-dir", str(plugins), "--workers", "1"]
    env = _environment(tmp_path, SLOW_COPY_READY=str(ready), SLOW_COPY_WAIT="1")

    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _wait_for(ready, process)
        copy = Path(ready.read_text())
        assert copy.parent.parent == case / ".scratch", copy
        assert copy.read_bytes() == database
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert copy.exists(), "the SIGKILLed scan should have left its copy (the point of this test)"
    assert not list((tmp_path / "system-tmp").iterdir())

    ready.unlink()
    env.pop("SLOW_COPY_WAIT")
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)

    assert resumed.returncode == 0, resumed.stderr
    assert not copy.parent.exists(), "the killed scan's copy survived the next scan"
    assert list((case / ".scratch").iterdir()) == []
    assert not list((tmp_path / "system-tmp").iterdir())
    assert (evidence / "app.db").read_bytes() == database


# -- item 10: an output that is, holds or lies inside the evidence -------------------------------


def _triage(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(PYTHON), "-m", "traffick_triage", *args], env=_environment(tmp_path),
                          capture_output=True, text=True, timeout=timeout)


def _one_error_line(result: subprocess.CompletedProcess, *words: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    return lines[0]


def test_scanning_a_case_file_into_its_own_case_folder_is_refused(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.txt").write_bytes(b"a\n")
    case = tmp_path / "case"
    assert _triage(tmp_path, "scan", str(evidence), "-o", str(case), "-q").returncode == 0
    before = (case / "report.json").read_bytes()

    result = _triage(tmp_path, "scan", str(case / "report.json"), "-o", str(case), "-q")

    assert result.returncode == 2
    _one_error_line(result, "inside the output folder")
    assert (case / "report.json").read_bytes() == before


def _bind_mount(source: Path, target: Path) -> bool:
    target.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode == 0


@pytest.mark.parametrize("route", ["bind-mount", "symlink", "dotdot", "parent-of-evidence"])
def test_output_reached_through_another_name_of_the_evidence_is_refused(tmp_path, route):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.txt").write_bytes(b"a\n")
    before = _tree(evidence)
    mounted = False
    if route == "bind-mount":
        mounted = _bind_mount(evidence, tmp_path / "view")
        if not mounted:
            pytest.skip("mount --bind not permitted here (the symlink route checks the same comparison)")
        output = tmp_path / "view" / "case"
    elif route == "symlink":
        os.symlink(evidence, tmp_path / "view")
        output = tmp_path / "view" / "case"
    elif route == "dotdot":
        (tmp_path / "other").mkdir()
        output = tmp_path / "other" / ".." / "evidence" / "sub" / "case"
    else:
        output = tmp_path
    try:
        result = _triage(tmp_path, "scan", str(evidence), "-o", str(output), "-q")
        assert result.returncode == 2
        _one_error_line(result, "evidence")
        assert _tree(evidence) == before
        assert sorted(p.name for p in evidence.iterdir()) == ["a.txt"], "the case was written into the evidence"
    finally:
        if mounted:
            subprocess.run(["umount", str(tmp_path / "view")], check=True)


# -- item 11: a full disk, a busy case folder, Ctrl-C --------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 600 KiB tmpfs (root only); skipped where it cannot be mounted."""
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mountpoint)],
                                          capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_full_disk_is_one_line_and_the_resume_is_byte_identical(tmp_path, small_disk):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for number in range(1500):
        (evidence / f"f{number:04d}.txt").write_text(f"file {number} with a few words\n")
    case = small_disk / "case"
    args = [str(evidence), "-q", "--no-plugins", "--workers", "1"]

    full = _triage(tmp_path, "scan", *args, "-o", str(case), timeout=300)

    assert full.returncode == 2, full.stderr
    _one_error_line(full, "is full", "free space", "same command again")
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    resumed = _triage(tmp_path, "scan", *args, "-o", str(case), timeout=300)
    fresh = _triage(tmp_path, "scan", *args, "-o", str(tmp_path / "fresh"), timeout=300)
    assert (resumed.returncode, fresh.returncode) == (0, 0), resumed.stderr + fresh.stderr
    assert (case / "report.json").read_bytes() == (tmp_path / "fresh" / "report.json").read_bytes()


def test_second_scan_into_a_busy_case_folder_names_the_holder(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "app.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "slow_copy.py").write_text(SLOW_COPY_PLUGIN)
    case = tmp_path / "case"
    ready = tmp_path / "copy-made"
    env = _environment(tmp_path, SLOW_COPY_READY=str(ready), SLOW_COPY_WAIT="1")
    first = subprocess.Popen([str(PYTHON), "-m", "traffick_triage", "scan", str(evidence), "-o", str(case), "-q",
                              "--only", "slow_copy", "--plugin-dir", str(plugins), "--workers", "1"],
                             env=env, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _wait_for(ready, first)
        second = _triage(tmp_path, "scan", str(evidence), "-o", str(case), "-q", "--only", "slow_copy",
                         "--plugin-dir", str(plugins), "--workers", "1")
        assert second.returncode == 2
        _one_error_line(second, f"in use by process {first.pid}", "triage scan")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()


def test_ctrl_c_while_the_workers_wait_is_one_line(tmp_path):
    """Ctrl-C reaches the whole process group; the workers, idle while the
    scanning process hashes the image, used to print a traceback each."""
    image = tmp_path / "big.raw"
    with open(image, "wb") as stream:
        stream.truncate(3 << 30)     # sparse: hashing it takes seconds, the workers wait
    case = tmp_path / "case"
    process = subprocess.Popen(
        [str(PYTHON), "-m", "traffick_triage", "scan", str(image), "-o", str(case), "-q", "--no-plugins",
         "--workers", "2"], env=_environment(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _wait_for(case / ".scratch" / "scan.lock", process)
        time.sleep(2)
        assert process.poll() is None, "the scan ended before it could be interrupted"
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode in (2, 130)
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0], stderr


@pytest.mark.skipif(QEMU_IMG is None, reason="qemu-img (apt package qemu-utils) is not installed")
@pytest.mark.parametrize("backing", ["base.qcow2", "../outside/base.qcow2", "OUTSIDE_ABSOLUTE"])
def test_qcow_backing_file_is_followed_only_beside_the_image(tmp_path, backing):
    """dfVFS opens a QCOW's backing file (its name joined to the image's folder):
    only a plain name beside the image is followed, and then it is hashed."""
    evidence, outside = tmp_path / "evidence", tmp_path / "outside"
    evidence.mkdir()
    outside.mkdir()
    for folder in (evidence, outside):
        subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2", str(folder / "base.qcow2"), "1M"], check=True)
    name = str(outside / "base.qcow2") if backing == "OUTSIDE_ABSOLUTE" else backing
    subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2", "-u", "-F", "qcow2", "-b", name,
                    str(evidence / "overlay.qcow2"), "1M"], check=True)
    case = tmp_path / "case"

    result, opened = traced_triage(tmp_path, "scan", str(evidence / "overlay.qcow2"), "-o", str(case), "-q",
                                   "--no-plugins", "--workers", "1", timeout=120)

    assert result.returncode == 1, result.stderr      # a blank disk: "no file system" at least
    assert_not_opened(opened, outside)
    report = report_of(case)
    if backing == "base.qcow2":
        assert not [w for w in report["warnings"] if "parent image" in w["message"]]
        assert "base.qcow2" in (case / "evidence.hashdeep").read_text()
    else:
        warning_naming(report, "QCOW parent image", "refused")


# -- the check itself, on any name ---------------------------------------------------------------

_PARTS = st.sampled_from(["..", ".", "", "a", "b.db", "link-out", "link-in", "fifo", "dir", "/", "\\", "C:",
                          "zero", "..\\..", "a/../..", "\x00"])


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("confine")
    folder, outside = root / "item", root / "outside"
    (folder / "dir").mkdir(parents=True)
    outside.mkdir()
    (folder / "a").write_bytes(b"a")
    (folder / "b.db").write_bytes(b"b")
    (folder / "dir" / "a").write_bytes(b"a")
    (outside / "a").write_bytes(b"secret")
    os.symlink(outside, folder / "link-out")
    os.symlink(folder / "a", folder / "link-in")
    os.symlink("/dev/zero", folder / "zero")
    os.mkfifo(folder / "fifo")
    return folder


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(_PARTS, min_size=1, max_size=6))
def test_confined_file_accepts_only_regular_files_inside_the_folder(hostile_folder, parts):
    name = "/".join(parts)
    try:
        host = confined_file(name, str(hostile_folder))
    except ConfinementError:
        return
    real = os.path.realpath(host)
    assert real.startswith(str(hostile_folder.resolve()) + os.sep), (name, real)
    assert Path(real).is_file() and not Path(real).is_fifo()
    assert ".." not in name.replace("\\", "/").split("/") and not name.startswith(("/", "\\"))
