"""Detached Ed25519 signatures over a case's manifest.json.

``manifest.json`` lists the SHA-256 of every output of the case (and
MANIFEST.sha256 lists manifest.json), so one signature over its exact bytes
vouches for the whole case folder as written: ``triage verify`` checks the
files against the manifest, and ``verify_signature`` checks that the manifest
is the one the key holder signed.

Files:
* ``generate_keypair(dir)`` writes ``triage-signing-key.pem`` (PKCS#8 private
  key, mode 0600, optionally encrypted with a passphrase) and
  ``triage-signing-key.pub.pem`` (SubjectPublicKeyInfo public key). Existing
  files are never overwritten.
* ``sign_manifest(case_dir, key)`` writes ``CASE_DIR/manifest.json.sig``, a
  small JSON document::

      {"algorithm": "Ed25519", "signed_file": "manifest.json",
       "signed_sha256": "<hex SHA-256 of manifest.json>",
       "public_key_fingerprint": "SHA256:<hex SHA-256 of the 32-byte raw public key>",
       "signature": "<base64 of the 64-byte signature>", "format": 1}

  The signature is plain RFC 8032 Ed25519 over the bytes of manifest.json,
  so it can be checked without this tool::

      jq -r .signature manifest.json.sig | base64 -d > manifest.sig.bin
      openssl pkeyutl -verify -pubin -inkey triage-signing-key.pub.pem \\
          -rawin -in manifest.json -sigfile manifest.sig.bin

* ``verify_signature(case_dir, public_key)`` is True only when the signature
  file names the given key's fingerprint and the signature over the current
  manifest.json verifies with that key. The key to trust is always the one the
  caller passes (received out of band), never anything stored in the case.

Because manifest.json.sig is written after the manifest, the manifest cannot
list it: ``case_outputs``/``verify_case`` must treat it as not covered (like
MANIFEST.sha256). Re-writing the manifest invalidates the signature; sign
again after any command that rewrites it.

Implemented with pycryptodome (already a dependency): no new package.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from .atomic import write_text

SIGNATURE_NAME = "manifest.json.sig"
SIGNED_NAME = "manifest.json"
PRIVATE_KEY_NAME = "triage-signing-key.pem"
PUBLIC_KEY_NAME = "triage-signing-key.pub.pem"
SIGNATURE_FORMAT = 1


class SigningError(Exception):
    pass


def _fingerprint(public_key: ECC.EccKey) -> str:
    raw = public_key.export_key(format="raw")
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def _load_key(path: str | Path, passphrase: str | None = None) -> ECC.EccKey:
    try:
        key = ECC.import_key(Path(path).read_bytes(), passphrase=passphrase)
    except (ValueError, IndexError, TypeError) as error:
        raise SigningError(f"{path}: not a readable Ed25519 key ({error})") from error
    if key.curve.lower() not in ("ed25519",):
        raise SigningError(f"{path}: key is {key.curve}, not Ed25519")
    return key


def public_key_fingerprint(public_key_path: str | Path) -> str:
    key = _load_key(public_key_path)
    return _fingerprint(key.public_key())


def generate_keypair(directory: str | Path, passphrase: str | None = None) -> tuple[Path, Path]:
    """Create an Ed25519 key pair in `directory`; return (private, public) paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / PRIVATE_KEY_NAME, folder / PUBLIC_KEY_NAME
    for path in (private_path, public_path):
        if path.exists():
            raise SigningError(f"{path} exists: refusing to overwrite a key")
    key = ECC.generate(curve="Ed25519")
    if passphrase:
        private_pem = key.export_key(format="PEM", passphrase=passphrase,
                                     protection="PBKDF2WithHMAC-SHA512AndAES256-CBC",
                                     prot_params={"iteration_count": 600_000})
    else:
        private_pem = key.export_key(format="PEM")
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write(private_pem if private_pem.endswith("\n") else private_pem + "\n")
    public_pem = key.public_key().export_key(format="PEM")
    write_text(public_path, public_pem if public_pem.endswith("\n") else public_pem + "\n")
    return private_path, public_path


def sign_manifest(case_dir: str | Path, private_key_path: str | Path,
                  passphrase: str | None = None) -> Path:
    """Sign CASE_DIR/manifest.json; write and return CASE_DIR/manifest.json.sig."""
    case = Path(case_dir)
    manifest = case / SIGNED_NAME
    if not manifest.is_file():
        raise SigningError(f"missing {manifest}: write the manifests before signing")
    key = _load_key(private_key_path, passphrase)
    if not key.has_private():
        raise SigningError(f"{private_key_path} is a public key; signing needs the private key")
    data = manifest.read_bytes()
    signature = eddsa.new(key, "rfc8032").sign(data)
    document = {"algorithm": "Ed25519", "format": SIGNATURE_FORMAT, "signed_file": SIGNED_NAME,
                "signed_sha256": hashlib.sha256(data).hexdigest(),
                "public_key_fingerprint": _fingerprint(key.public_key()),
                "signature": base64.b64encode(signature).decode("ascii")}
    target = case / SIGNATURE_NAME
    write_text(target, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return target


def check_signature(case_dir: str | Path, public_key_path: str | Path) -> list[str]:
    """Problems with CASE_DIR/manifest.json.sig for the given public key ([] = valid)."""
    case = Path(case_dir)
    sig_path, manifest = case / SIGNATURE_NAME, case / SIGNED_NAME
    if not sig_path.is_file():
        return [f"missing: {SIGNATURE_NAME} (the case was not signed)"]
    if not manifest.is_file():
        return [f"missing: {SIGNED_NAME}"]
    try:
        document = json.loads(sig_path.read_text(encoding="utf-8"))
        signature = base64.b64decode(document["signature"], validate=True)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError) as error:
        return [f"unreadable {SIGNATURE_NAME}: {error}"[:300]]
    if document.get("algorithm") != "Ed25519":
        return [f"{SIGNATURE_NAME}: unsupported algorithm {document.get('algorithm')!r}"]
    try:
        key = _load_key(public_key_path)
    except SigningError as error:
        return [str(error)]
    public = key.public_key()
    problems = []
    if document.get("public_key_fingerprint") != _fingerprint(public):
        problems.append(f"{SIGNATURE_NAME} was made with key {document.get('public_key_fingerprint')}, "
                        f"not with the given key {_fingerprint(public)}")
    data = manifest.read_bytes()
    if document.get("signed_sha256") != hashlib.sha256(data).hexdigest():
        problems.append(f"{SIGNED_NAME} changed after it was signed (SHA-256 differs)")
    try:
        eddsa.new(public, "rfc8032").verify(data, signature)
    except ValueError:
        problems.append(f"signature does not verify over {SIGNED_NAME} with the given key")
    return problems


def verify_signature(case_dir: str | Path, public_key_path: str | Path) -> bool:
    """True when manifest.json carries a valid signature by this public key."""
    return not check_signature(case_dir, public_key_path)
