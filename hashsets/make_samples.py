#!/usr/bin/env python3
"""Regenerate the synthetic sample hash sets in samples/.

Every hash here is of benign synthetic data made by this script: the bytes
of the strings "benign sample 1" .. "benign sample 6", and small generated
gradient PNGs for the perceptual hashes. No real hash set was used.

    .venv/bin/python hashsets/make_samples.py
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from traffick_triage.hashsets.nsrl import RDS3_MINIMAL_SCHEMA as NSRL_SCHEMA

OUT = Path(__file__).resolve().parent / "samples"
N = 6


def payload(i: int) -> bytes:
    return f"benign sample {i}".encode()


def digests(i: int) -> dict[str, str]:
    data = payload(i)
    return {"md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest()}


def gradient_png(i: int):
    from PIL import Image
    img = Image.new("RGB", (64, 64))
    img.putdata([((x * 4 + i * 37) % 256, (y * 4) % 256, (x * y + i * 11) % 256)
                 for y in range(64) for x in range(64)])
    return img


def perceptual(i: int) -> tuple[str, int, str]:
    import imagehash
    import numpy
    import pdqhash
    img = gradient_png(i)
    vector, quality = pdqhash.compute(numpy.asarray(img))
    bits = "".join(str(int(b)) for b in vector)
    return f"{int(bits, 2):064x}", int(quality), str(imagehash.phash(img))


def media(i: int, version: str) -> dict:
    d = digests(i)
    item = {"MediaID": i, "Category": i % 5, "MD5": d["md5"].upper(), "SHA1": d["sha1"].upper(),
            "Series": "Synthetic Series A" if i % 2 else None, "MediaSize": len(payload(i))}
    if version == "1.3":  # 1.3 writes booleans as strings
        item.update(VictimIdentified="true" if i % 3 == 0 else "false",
                    IsDistributed="true", IsPrecategorized="false")
    else:
        pdq, _, _ = perceptual(i)
        item.update(SHA256=d["sha256"], VictimIdentified=i % 3 == 0, IsDistributed=True,
                    AlternativeHashes=[{"HashName": "PDQ", "HashValue": pdq}],
                    MediaFiles=[{"FileName": f"benign-{i}.txt", "FilePath": "synthetic/"}])
    return {k: v for k, v in item.items() if v is not None}


def write_text(name: str, text: str) -> None:
    (OUT / name).write_text(text, encoding="utf-8", newline="\n")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    ids = range(1, N + 1)
    separators = ("\t", ",", " ")
    kinds = ("md5", "sha1", "sha256")
    write_text("plain-list.txt", "# synthetic: hashes of 'benign sample N'\n\n" + "".join(
        digests(i)[kinds[i % 3]] + separators[i % 3] + f"benign sample {i}\n" for i in ids)
        + digests(N + 1)["sha1"].upper() + "\n")
    write_text("vics-1.3.json", json.dumps({
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
        "value": [media(i, "1.3") for i in ids]}, indent=1))
    write_text("vics-2.0.json", json.dumps({
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",
        "value": [media(i, "2.0") for i in ids]}, indent=1))
    write_text("vics-case.json", json.dumps({
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Cases",
        "value": [{"CaseID": "SYNTH-1", "CaseNumber": "synthetic", "Media": [media(i, "2.0") for i in ids[:3]]},
                  {"CaseID": "SYNTH-2", "Media": [media(i, "2.0") for i in ids[3:]]}]}, indent=1))
    write_text("icse.csv", "MD5;SHA1;Category;Series;FileName\n" + "".join(
        f"{digests(i)['md5']};{digests(i)['sha1']};{i % 5};Synthetic Series A;benign-{i}.txt\n"
        for i in ids))
    lines = []
    for i in ids:
        pdq, quality, _ = perceptual(i)
        lines.append(f"{pdq},{quality},synthetic gradient {i}\n")
    write_text("pdq.txt", "# pdq: PDQ of generated gradient PNGs\n" + "".join(lines))
    write_text("phash.txt", "# phash: DCT pHash of generated gradient PNGs\n" + "".join(
        f"{perceptual(i)[2]}  synthetic gradient {i}\n" for i in ids))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "benign"
        folder.mkdir()
        for i in ids:
            (folder / f"benign-{i}.txt").write_bytes(payload(i))
        for name, cmd in (("hashdeep.txt", ["hashdeep", "-c", "md5,sha256", "-r", "-l", "benign"]),
                          ("md5deep.txt", ["md5deep", "-r", "-l", "benign"])):
            out = subprocess.run(cmd, cwd=tmp, check=True, capture_output=True, text=True).stdout
            # Sort data lines (hashdeep's order follows the directory walk) and
            # drop the temporary working directory from the header.
            head = [l.replace(tmp, "/synthetic") for l in out.splitlines() if l.startswith(("%", "#"))]
            body = sorted(l for l in out.splitlines() if l and not l.startswith(("%", "#")))
            write_text(name, "\n".join(head + body) + "\n")
    make_nsrl(OUT / "nsrl-rds3-minimal.db", ids)




def make_nsrl(path: Path, ids) -> None:
    """A tiny database with the RDS v3 schema (FORMATS.md), upper-case hex like NIST."""
    import zlib
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    con.executescript(NSRL_SCHEMA)
    con.execute("INSERT INTO MFG VALUES (1, 'Synthetic Vendor')")
    con.execute("INSERT INTO OS VALUES (1, 'SynthOS', '1.0', 1)")
    con.execute("INSERT INTO PKG VALUES (1, 'Synthetic Suite', '1.0', 1, 1, 'English', 'test')")
    con.execute("INSERT INTO VERSION VALUES ('2000.01.1', 'synthetic', '2000-01-01 00:00:00', "
                "'2000-01-01 00:00:00', 'synthetic minimal sample')")
    for i in ids:
        d = digests(i)
        con.execute("INSERT INTO FILE VALUES (?,?,?,?,?,?,1)",
                    (d["sha256"].upper(), d["sha1"].upper(), d["md5"].upper(),
                     f"{zlib.crc32(payload(i)):08X}", f"benign-{i}.txt", len(payload(i))))
    con.commit()
    con.execute("VACUUM")
    con.close()


if __name__ == "__main__":
    main()
