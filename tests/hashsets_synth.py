"""Synthetic, benign hash-set files for the hash-set tests.

Every hash is of the bytes "benign sample <i>": never real abuse hashes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import zlib
from pathlib import Path
from traffick_triage.hashsets.nsrl import RDS3_MINIMAL_SCHEMA as NSRL_SCHEMA

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "hashsets" / "samples"


def payload(i: int) -> bytes:
    return f"benign sample {i}".encode()


def digests(i: int) -> dict[str, str]:
    data = payload(i)
    return {"md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest()}


def media(i: int, version: str = "2.0") -> dict:
    d = digests(i)
    item = {"MediaID": i, "Category": i % 5, "MD5": d["md5"].upper(), "SHA1": d["sha1"],
            "Series": f"Synthetic {i % 3}", "MediaSize": len(payload(i))}
    if version == "1.3":
        item.update(VictimIdentified="true" if i % 2 else "false", IsDistributed="false")
    else:
        item.update(SHA256=d["sha256"], VictimIdentified=bool(i % 2), IsDistributed=False)
    return item


VICS_13_URI = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"
VICS_20_URI = ("http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/"
               "Default/$metadata#Media")


def write_vics(path: Path, ids, version: str = "2.0", layout: str = "flat") -> Path:
    items = [media(i, version) for i in ids]
    key = "odata.metadata" if version == "1.3" else "@odata.context"
    uri = VICS_13_URI if version == "1.3" else VICS_20_URI
    if layout == "flat":
        doc = {key: uri, "value": items}
    elif layout == "case":
        half = len(items) // 2
        doc = {key: uri, "value": [{"CaseID": "C1", "Media": items[:half], "After": 1},
                                   {"CaseID": "C2", "Media": items[half:]}]}
    elif layout == "top-media":
        doc = {"CaseID": "C1", "Media": items}
    else:
        raise ValueError(layout)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def write_icse(path: Path, ids) -> Path:
    rows = ["MD5;SHA1;SHA256;Category;Series;FileName"]
    rows += [f"{digests(i)['md5']};{digests(i)['sha1'].upper()};{digests(i)['sha256']};"
             f"{i % 5};Synthetic {i % 3};benign-{i}.txt" for i in ids]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_plain(path: Path, ids) -> Path:
    lines = ["# synthetic plain list"]
    for i in ids:
        for kind in ("md5", "sha1", "sha256"):
            lines.append(f"{digests(i)[kind]}\tbenign-{i}.txt")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_payload_folder(folder: Path, ids) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in ids:
        (folder / f"benign-{i}.txt").write_bytes(payload(i))
    return folder


def run_hashdeep(folder: Path, out: Path) -> Path:
    """The real hashdeep tool: an independent oracle for MD5/SHA-256."""
    text = subprocess.run(["hashdeep", "-c", "md5,sha256", "-r", str(folder)],
                          check=True, capture_output=True, text=True).stdout
    out.write_text(text, encoding="utf-8")
    return out


def parse_hashdeep_oracle(path: Path) -> list[dict]:
    """Parsed without our reader: size,md5,sha256,filename rows."""
    rows = []
    for line in path.read_text().splitlines():
        if line and not line.startswith(("%", "#")):
            size, md5, sha256, name = line.split(",", 3)
            rows.append({"md5": md5, "sha256": sha256, "name": name})
    return rows




def write_nsrl(path: Path, ids, *, file_as_view: bool = False) -> Path:
    """RDS v3 minimal schema; with file_as_view, FILE is a view over another
    table (as in the full RDS), so no hash column is indexed."""
    con = sqlite3.connect(path)
    schema = NSRL_SCHEMA
    if file_as_view:
        schema = schema.replace("CREATE TABLE FILE (", "CREATE TABLE METADATA (")
        schema += "CREATE VIEW FILE AS SELECT * FROM METADATA;\n"
    con.executescript(schema)
    table = "METADATA" if file_as_view else "FILE"
    con.execute("INSERT INTO PKG VALUES (7, 'Synthetic Suite', '2.1', 1, 1, 'English', 'x')")
    con.execute("INSERT INTO VERSION VALUES ('2099.01.1', 'minimal', '2099-01-01', "
                "'2099-01-02', 'synthetic')")
    for i in ids:
        d = digests(i)
        for name in (f"benign-{i}.txt", f"copy-of-{i}.txt"):  # same hash, two names
            con.execute(f"INSERT INTO {table} VALUES (?,?,?,?,?,?,7)",
                        (d["sha256"].upper(), d["sha1"].upper(), d["md5"].upper(),
                         f"{zlib.crc32(payload(i)):08X}", name, len(payload(i))))
    con.commit()
    con.close()
    return path
