"""Integrity add-ons: detached Ed25519 signature over manifest.json, and the
hash-chained audit log (audit.jsonl)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from traffick_triage.audit import AUDIT_NAME, append_audit, audit_head, check_audit
from traffick_triage.signing import (PRIVATE_KEY_NAME, PUBLIC_KEY_NAME, SIGNATURE_NAME, SigningError,
                                     check_signature, generate_keypair, sign_manifest, verify_signature)


@pytest.fixture()
def case_dir(tmp_path) -> Path:
    case = tmp_path / "case"
    case.mkdir()
    (case / "report.json").write_text('{"a": 1}\n', encoding="utf-8")
    manifest = {"manifest_version": 1, "outputs": {"report.json": {
        "sha256": hashlib.sha256(b'{"a": 1}\n').hexdigest(), "size": 9}}}
    (case / "manifest.json").write_text(json.dumps(manifest, sort_keys=True) + "\n", encoding="utf-8")
    return case


@pytest.fixture()
def keys(tmp_path) -> tuple[Path, Path]:
    return generate_keypair(tmp_path / "keys")


def test_keypair_files_and_no_overwrite(keys, tmp_path):
    private, public = keys
    assert private.name == PRIVATE_KEY_NAME and public.name == PUBLIC_KEY_NAME
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert (private.stat().st_mode & 0o777) == 0o600
    with pytest.raises(SigningError):
        generate_keypair(tmp_path / "keys")


def test_sign_then_verify(case_dir, keys):
    private, public = keys
    sig = sign_manifest(case_dir, private)
    assert sig == case_dir / SIGNATURE_NAME
    document = json.loads(sig.read_text())
    assert document["algorithm"] == "Ed25519" and len(base64.b64decode(document["signature"])) == 64
    assert document["public_key_fingerprint"].startswith("SHA256:")
    assert verify_signature(case_dir, public)
    assert check_signature(case_dir, public) == []


def test_signature_verifies_with_openssl(case_dir, keys, tmp_path):
    """An oracle that is not ours: OpenSSL checks the same bytes and key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    private, public = keys
    sign_manifest(case_dir, private)
    raw = tmp_path / "sig.bin"
    raw.write_bytes(base64.b64decode(json.loads((case_dir / SIGNATURE_NAME).read_text())["signature"]))
    run = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin",
                          "-in", str(case_dir / "manifest.json"), "-sigfile", str(raw)],
                         capture_output=True, text=True)
    if "rawin" in run.stderr and run.returncode != 0 and "unknown option" in run.stderr.lower():
        pytest.skip("this openssl has no -rawin (needs OpenSSL 3)")
    assert run.returncode == 0, run.stdout + run.stderr


def test_signature_by_another_key_fails(case_dir, keys, tmp_path):
    private, public = keys
    other_private, other_public = generate_keypair(tmp_path / "other")
    sign_manifest(case_dir, other_private)
    assert not verify_signature(case_dir, public)
    problems = check_signature(case_dir, public)
    assert any("not with the given key" in p for p in problems)
    assert any("does not verify" in p for p in problems)
    assert verify_signature(case_dir, other_public)


def test_forged_fingerprint_still_fails(case_dir, keys, tmp_path):
    """Copying the trusted key's fingerprint into a foreign signature does not help."""
    private, public = keys
    other_private, _ = generate_keypair(tmp_path / "other")
    sign_manifest(case_dir, private)
    good = json.loads((case_dir / SIGNATURE_NAME).read_text())
    sign_manifest(case_dir, other_private)
    forged = json.loads((case_dir / SIGNATURE_NAME).read_text())
    forged["public_key_fingerprint"] = good["public_key_fingerprint"]
    (case_dir / SIGNATURE_NAME).write_text(json.dumps(forged))
    assert not verify_signature(case_dir, public)


def test_changed_manifest_fails(case_dir, keys):
    private, public = keys
    sign_manifest(case_dir, private)
    manifest = case_dir / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"size": 9', b'"size": 8'))
    assert not verify_signature(case_dir, public)
    assert any("changed after it was signed" in p for p in check_signature(case_dir, public))


def test_missing_or_garbled_signature(case_dir, keys):
    private, public = keys
    assert not verify_signature(case_dir, public)
    sign_manifest(case_dir, private)
    (case_dir / SIGNATURE_NAME).write_text("not json")
    assert not verify_signature(case_dir, public)


def test_passphrase_protected_key(case_dir, tmp_path):
    private, public = generate_keypair(tmp_path / "pp", passphrase="correct horse")
    assert "ENCRYPTED" in private.read_text()
    with pytest.raises(SigningError):
        sign_manifest(case_dir, private)
    sign_manifest(case_dir, private, passphrase="correct horse")
    assert verify_signature(case_dir, public)


def test_signing_with_public_key_is_refused(case_dir, keys):
    with pytest.raises(SigningError):
        sign_manifest(case_dir, keys[1])


# -- audit log ---------------------------------------------------------------------------


def _three_commands(case: Path) -> None:
    append_audit(case, "scan", ["triage", "scan", "ev.E01", "-o", str(case)])
    append_audit(case, "verify", ["triage", "verify", str(case)])
    append_audit(case, "export", ["triage", "export", "--format", "csv", str(case)])


def test_audit_lines_and_chain(tmp_path):
    case = tmp_path / "case"
    _three_commands(case)
    lines = (case / AUDIT_NAME).read_bytes().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev_sha256"] == "0" * 64
    assert records[1]["prev_sha256"] == hashlib.sha256(lines[0]).hexdigest()
    assert records[2]["prev_sha256"] == hashlib.sha256(lines[1]).hexdigest()
    for record in records:
        assert record["time_utc"].endswith("+00:00") and record["user"] and record["host"]
        assert record["tool_version"]
    assert records[1]["argv"] == ["triage", "verify", str(case)]
    assert check_audit(case) == []


def test_audit_edit_is_detected(tmp_path):
    case = tmp_path / "case"
    _three_commands(case)
    path = case / AUDIT_NAME
    path.write_bytes(path.read_bytes().replace(b'"verify"', b'"verifx"', 1))
    problems = check_audit(case)
    assert any("line 3" in p and "prev_sha256" in p for p in problems), problems


def test_audit_removed_line_is_detected(tmp_path):
    case = tmp_path / "case"
    _three_commands(case)
    path = case / AUDIT_NAME
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[2])
    problems = check_audit(case)
    assert any("line 2" in p for p in problems), problems


def test_audit_reordered_lines_are_detected(tmp_path):
    case = tmp_path / "case"
    _three_commands(case)
    path = case / AUDIT_NAME
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[2] + lines[1])
    assert check_audit(case)


def test_audit_truncation_is_caught_by_the_manifest_head(tmp_path):
    """The chain cannot see its last lines cut off; the head the manifest
    recorded can."""
    case = tmp_path / "case"
    _three_commands(case)
    head = audit_head(case)
    assert head["lines"] == 3
    append_audit(case, "report", ["triage", "report", str(case)])  # after the manifest: fine
    assert check_audit(case, expected_head=head) == []
    path = case / AUDIT_NAME
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2]))
    assert check_audit(case) == []  # the chain alone is blind to this
    assert any("lines were removed" in p for p in check_audit(case, expected_head=head))


def test_audit_rewritten_log_is_caught_by_the_manifest_head(tmp_path):
    case = tmp_path / "case"
    _three_commands(case)
    head = audit_head(case)
    (case / AUDIT_NAME).unlink()
    assert check_audit(case, expected_head=head)
    _three_commands(case)  # a fresh, internally consistent chain (new times)
    assert check_audit(case) == []
    assert any("differs from the one the manifest recorded" in p
               for p in check_audit(case, expected_head=head))


def test_audit_interrupted_append_is_reported_and_next_append_continues(tmp_path):
    case = tmp_path / "case"
    _three_commands(case)
    path = case / AUDIT_NAME
    with open(path, "ab") as stream:
        stream.write(b'{"seq": 4, "half')
    assert any("incomplete" in p for p in check_audit(case))
    append_audit(case, "verify", ["triage", "verify"])
    problems = check_audit(case)
    assert any("line 4" in p for p in problems)  # the broken line stays visible
    assert json.loads(path.read_bytes().splitlines()[-1])["seq"] == 5
