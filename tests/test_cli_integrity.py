"""Signing, the audit log and re-rendering through the CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from evidence_builders import scan
from traffick_triage.cli import app


def _folder(tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha")
    return folder


def test_signed_scan_verifies_with_its_key_only(tmp_path):
    runner = CliRunner()
    for name in ("lab", "other"):
        assert runner.invoke(app, ["keygen", str(tmp_path / name)]).exit_code == 0
    lab_private = tmp_path / "lab" / "triage-signing-key.pem"
    lab_public = tmp_path / "lab" / "triage-signing-key.pub.pem"
    other_public = tmp_path / "other" / "triage-signing-key.pub.pem"
    case = tmp_path / "case"
    scan([_folder(tmp_path)], case, "--sign", str(lab_private), expect_exit=0)
    assert runner.invoke(app, ["verify", str(case), "--pubkey", str(lab_public)]).exit_code == 0
    result = runner.invoke(app, ["verify", str(case), "--pubkey", str(other_public)])
    assert result.exit_code == 1 and "FAILED" in result.output


def test_report_rerenders_byte_identical_and_audit_chain_is_checked(tmp_path):
    runner = CliRunner()
    case = tmp_path / "case"
    scan([_folder(tmp_path)], case, expect_exit=0)
    before = {name: (case / name).read_bytes() for name in ("report.json", "timeline.jsonl", "case.jsonld",
                                                             "inventory.dfxml", "evidence.hashdeep")}
    assert runner.invoke(app, ["report", str(case)]).exit_code == 0
    assert before == {name: (case / name).read_bytes() for name in before}
    assert runner.invoke(app, ["verify", str(case)]).exit_code == 0
    lines = (case / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["command"] for line in lines] == ["scan", "report", "verify"]
    # Rewriting history in the audit log is detected.
    first = json.loads(lines[0])
    first["user"] = "someone-else"
    lines[0] = json.dumps(first, sort_keys=True, separators=(",", ":"))
    (case / "audit.jsonl").write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["verify", str(case)])
    assert result.exit_code == 1 and "audit" in result.output.lower()
