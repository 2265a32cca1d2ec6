"""Training hash sets in several formats (hashsets/FORMATS.md). The "known"
images they list are benign generated pictures standing in for known
material; every file says so in its own comment field."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from pathlib import Path
from ..hashsets.nsrl import RDS3_MINIMAL_SCHEMA as NSRL_SCHEMA

STAND_IN = ("TRAINING DATA: benign generated images (coloured shapes) standing in for known material. "
            "No real hash of any real file is listed here.")
VICS_CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"


def digests(data: bytes) -> dict[str, str]:
    return {"md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def write_plain(path: Path, rows: list[tuple[str, str]]) -> None:
    """rows: (hex hash, label)."""
    _text(path, f"# {STAND_IN}\n# plain list: one MD5, SHA-1 or SHA-256 per line, a space, a label\n"
          + "".join(f"{digest} {label}\n" for digest, label in rows))


def write_hashdeep(path: Path, rows: list[tuple[bytes, str]]) -> None:
    """rows: (file bytes, file name), in hashdeep's size,md5,sha256,filename layout."""
    lines = ["%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename", f"## {STAND_IN}",
             "## $ hashdeep -c md5,sha256 -r known", "##"]
    for data, name in rows:
        d = digests(data)
        lines.append(f"{d['size']},{d['md5']},{d['sha256']},{name}")
    _text(path, "\n".join(lines) + "\n")


def write_vics(path: Path, media: list[dict]) -> None:
    """VICS 2.0 JSON (flat layout). media: id, data, pdq, category, series, file_name."""
    items = []
    for item in media:
        d = digests(item["data"])
        items.append({
            "MediaID": item["id"], "Category": item["category"], "MD5": d["md5"].upper(),
            "SHA1": d["sha1"].upper(), "SHA256": d["sha256"], "MediaSize": d["size"],
            "Series": item["series"], "VictimIdentified": False, "IsDistributed": True,
            "IsPrecategorized": True, "Comments": STAND_IN,
            "AlternativeHashes": [{"HashName": "PDQ", "HashValue": item["pdq"]}],
            "MediaFiles": [{"FileName": item["file_name"], "FilePath": "training/"}]})
    document = {"@odata.context": VICS_CONTEXT, "Comment": STAND_IN, "value": items}
    _text(path, json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def write_pdq(path: Path, rows: list[tuple[str, int, str]]) -> None:
    """rows: (pdq hex, quality, label)."""
    _text(path, f"# pdq: PDQ hashes (hex), quality, label\n# {STAND_IN}\n"
          + "".join(f"{pdq},{quality},{label}\n" for pdq, quality, label in rows))




def write_nsrl(path: Path, files: list[tuple[bytes, str]]) -> None:
    """A tiny database with the NSRL RDS v3 schema listing the synthetic
    'system' files (known files, upper-case hex like NIST). Not NIST data."""
    if path.exists():
        path.unlink()
    db = sqlite3.connect(path)
    db.executescript(NSRL_SCHEMA)
    db.execute("INSERT INTO MFG VALUES (1, 'Synthetic Vendor (training)')")
    db.execute("INSERT INTO OS VALUES (1, 'TrainingOS', '1.0', 1)")
    db.execute("INSERT INTO PKG VALUES (1, 'Training System Files', '1.0', 1, 1, 'English', 'operating system')")
    db.execute("INSERT INTO VERSION VALUES ('2024.05.1', 'training', '2024-05-01 12:00:00', "
               "'2024-05-01 12:00:00', 'TRAINING DATA: synthetic RDS v3-style sample, not a NIST release')")
    for data, name in files:
        d = digests(data)
        db.execute("INSERT INTO FILE VALUES (?,?,?,?,?,?,1)",
                   (d["sha256"].upper(), d["sha1"].upper(), d["md5"].upper(), f"{zlib.crc32(data):08X}",
                    name, d["size"]))
    db.commit()
    db.execute("VACUUM")
    db.close()
