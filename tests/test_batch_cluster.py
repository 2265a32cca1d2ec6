"""`triage batch`: a YAML case file, run locally and on a real Dask cluster
(a scheduler and two workers on loopback, started here), with one worker
killed mid-run. The report must be byte-identical to a local run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_builders import load_report, make_zip, tree_hashes
from traffick_triage.cli import app

VENV_BIN = Path(sys.executable).parent

SLOW_PLUGIN = '''
import time
from dataclasses import dataclass
from typing import ClassVar
from traffick_triage.plugin_api import Finding, Plugin, Selector

@dataclass(frozen=True)
class Length(Finding):
    KIND: ClassVar[str] = "test.length"
    characters: int
    worker_independent: bool

class SlowLength(Plugin):
    NAME = "slow_length"
    VERSION = "1.0"
    DESCRIPTION = "counts characters, slowly, so a worker can be killed mid-run"
    SELECTOR = Selector(mime_types=("text/*",))
    def extract(self, file, ctx):
        time.sleep(0.04)
        yield Length(characters=len(file.read()), worker_independent=True)
'''


def _case_file(tmp_path: Path, evidence: list[tuple[str, Path, dict]], output: Path) -> Path:
    lines = ["case_number: B-1", "examiner: Batch Tester", f"output: {output}", "plugins:",
             f"  dirs: [{tmp_path / 'plugins'}]", "  only: [slow_length, identifiers]", "region: KW",
             "workers: 2", "evidence:"]
    for evidence_id, path, options in evidence:
        lines.append(f"  - id: {evidence_id}")
        lines.append(f"    path: {path}")
        for key, value in options.items():
            lines.append(f"    {key}: {value}")
    case_file = tmp_path / f"{output.name}.yaml"
    case_file.write_text("\n".join(lines) + "\n")
    return case_file


@pytest.fixture()
def batch_evidence(tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "slow_length.py").write_text(SLOW_PLUGIN)
    folder = tmp_path / "laptop"
    folder.mkdir()
    for number in range(240):
        (folder / f"note{number:03d}.txt").write_text(f"note {number} call 5123 {number:04d}\n" * (1 + number % 5))
    phone = make_zip(tmp_path / "phone.zip", {f"sdcard/sms{n}.txt": f"+20 100 123 {n:04d}".encode() for n in range(40)})
    return [("LAPTOP-1", folder, {}), ("PHONE-1", phone, {"region": "EG"})]


def test_batch_locally_records_each_item_with_its_options(tmp_path, batch_evidence):
    case_file = _case_file(tmp_path, batch_evidence, tmp_path / "local")
    result = CliRunner().invoke(app, ["batch", str(case_file), "--quiet"])
    assert result.exit_code == 0, result.output
    report = load_report(tmp_path / "local")
    assert [e["id"] for e in report["evidence"]] == ["LAPTOP-1", "PHONE-1"]
    assert report["case"]["case_number"] == "B-1"
    lengths = [f for f in report["findings"] if f["kind"] == "test.length"]
    assert len(lengths) == 280
    phones = {f["data"]["value"] for f in report["findings"]
              if f["kind"] == "identifier" and f["data"]["kind"] == "phone" and f["evidence_id"] == "PHONE-1"}
    assert "+201001230007" in phones         # the phone item's own region (EG) applied


def test_bad_case_file_is_one_clear_error(tmp_path):
    case_file = tmp_path / "bad.yaml"
    case_file.write_text("output: x\nevidence:\n  - id: A\n")
    result = CliRunner().invoke(app, ["batch", str(case_file)])
    assert result.exit_code == 2 and "needs a 'path'" in result.output


def test_case_file_media_hash_is_a_yes_or_no(tmp_path):
    from traffick_triage.batch import CaseFileError, load_case_file

    (tmp_path / "e").mkdir()
    for value, expected in (("false", False), ("true", True), (None, True)):
        case_file = tmp_path / "case.yaml"
        case_file.write_text("output: out\n" + (f"media_hash: {value}\n" if value else "")
                             + "evidence:\n  - id: A\n    path: e\n")
        assert load_case_file(case_file).media_hash is expected
    case_file.write_text("output: out\nmedia_hash: 'no'\nevidence:\n  - id: A\n    path: e\n")
    with pytest.raises(CaseFileError, match="media_hash must be true or false"):
        load_case_file(case_file)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(command: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_workers(address: str, count: int, timeout: float = 60) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(count, timeout=timeout)


def test_dask_cluster_with_a_worker_killed_mid_run(tmp_path, batch_evidence):
    pytest.importorskip("distributed")
    local_file = _case_file(tmp_path, batch_evidence, tmp_path / "local")
    assert CliRunner().invoke(app, ["batch", str(local_file), "--quiet"]).exit_code == 0

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = [_start([str(VENV_BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                         "--no-dashboard"], tmp_path / "scheduler.log")]
    try:
        time.sleep(2)
        for name in ("w1", "w2"):
            processes.append(_start([str(VENV_BIN / "dask"), "worker", address, "--name", name, "--nthreads", "1",
                                     "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
                                    tmp_path / f"{name}.log"))
        _wait_for_workers(address, 2)
        cluster_file = _case_file(tmp_path, batch_evidence, tmp_path / "cluster")
        evidence_before = tree_hashes([path for _, path, _ in batch_evidence])
        scan = subprocess.Popen([str(VENV_BIN / "triage"), "batch", str(cluster_file), "--scheduler", address,
                                 "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(4)
        assert scan.poll() is None, "the cluster run ended before a worker could be killed"
        os.killpg(processes[1].pid, signal.SIGKILL)          # worker w1 dies mid-run
        output, _ = scan.communicate(timeout=300)
        assert scan.returncode == 0, output.decode()
        assert tree_hashes([path for _, path, _ in batch_evidence]) == evidence_before
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    local = (tmp_path / "local" / "report.json").read_bytes()
    cluster = (tmp_path / "cluster" / "report.json").read_bytes()
    assert json.loads(cluster)["summary"] == json.loads(local)["summary"]
    assert cluster.replace(b"/cluster", b"/local") == local
