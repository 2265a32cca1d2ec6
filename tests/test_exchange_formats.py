"""Exchange formats written from the case store: CASE/UCO JSON-LD, DFXML,
VICS JSON export, CSV tables."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_builders import scan
from traffick_triage.cli import app
from traffick_triage.hashsets.vics import VicsJsonReader
from traffick_triage.report.case_uco import write_case_jsonld
from traffick_triage.report.csv_tables import BOM, write_csv_tables
from traffick_triage.report.dfxml import DFXML_NS, write_dfxml
from traffick_triage.report.vics_export import write_vics_export
from traffick_triage.store import CaseStore


@pytest.fixture(scope="session")
def demo_case(tmp_path_factory) -> Path:
    from traffick_triage.demo.minimal import build_minimal_demo

    root = tmp_path_factory.mktemp("demo")
    items = build_minimal_demo(root)       # the first demo case these assertions are written against
    result = CliRunner().invoke(app, ["scan", str(items["laptop"]), str(items["phone"]), "-o", str(root / "case"),
                                      "--evidence-id", "LAPTOP-1", "--evidence-id", "PHONE-1", "--region", "KW",
                                      "--case-number", "DEMO-2024-001", "--examiner", "Demo Examiner",
                                      "--agency", "Training (synthetic data)", "--quiet"])
    assert result.exit_code == 0, result.output
    return root / "case"


@pytest.fixture()
def demo_copy(demo_case, tmp_path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(demo_case, target)
    return target


def _render(case: Path, writer):
    store = CaseStore(case, readonly=True)
    try:
        return writer(store, case)
    finally:
        store.close()


# -- CASE / UCO ----------------------------------------------------------------------------


def _case_validate() -> str:
    pytest.importorskip("case_utils", reason="case-utils (the 'case' extra) provides case_validate")
    beside = Path(sys.executable).parent / "case_validate"
    return str(beside) if beside.exists() else (shutil.which("case_validate") or "case_validate")


def test_case_jsonld_passes_case_validate(demo_copy):
    path = _render(demo_copy, write_case_jsonld)
    run = subprocess.run([_case_validate(), str(path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Conforms: True" in run.stdout


def test_case_validate_rejects_a_broken_graph(demo_copy):
    """The validator really looks: a Hash without hashMethod and a non-integer
    size must fail (so the passing test above can fail)."""
    path = _render(demo_copy, write_case_jsonld)
    document = json.loads(path.read_text(encoding="utf-8"))
    hashes = [n for n in document["@graph"] if n["@type"] == "uco-types:Hash"]
    del hashes[0]["uco-types:hashMethod"]
    facets = [n for n in document["@graph"] if n["@type"] == "uco-observable:FileFacet"]
    facets[0]["uco-observable:sizeInBytes"] = "big"
    broken = demo_copy / "broken.jsonld"
    broken.write_text(json.dumps(document), encoding="utf-8")
    run = subprocess.run([_case_validate(), str(broken)], capture_output=True, text=True, timeout=600)
    assert run.returncode != 0
    assert "Conforms: False" in run.stdout
    assert "hashMethod" in run.stdout and "sizeInBytes" in run.stdout


def test_case_jsonld_content_and_determinism(demo_copy):
    path = _render(demo_copy, write_case_jsonld)
    first = path.read_bytes()
    assert _render(demo_copy, write_case_jsonld).read_bytes() == first
    document = json.loads(first)
    nodes = {n["@id"]: n for n in document["@graph"]}
    by_type: dict[str, list[dict]] = {}
    for node in nodes.values():
        by_type.setdefault(node["@type"], []).append(node)
    store = CaseStore(demo_copy, readonly=True)
    files, evidence = list(store.files()), store.evidence()
    run = store.runs()[0]
    store.close()
    # every inventoried file (plus each evidence container file) is a File
    located = {n["uco-core:name"]: n for n in by_type["uco-observable:File"] if "uco-core:name" in n}
    assert set(located) == {f["locator"] for f in files}
    for row in files:
        facets = [nodes[ref["@id"]] for ref in located[row["locator"]]["uco-core:hasFacet"]]
        file_facet = next(f for f in facets if f["@type"] == "uco-observable:FileFacet")
        assert file_facet["uco-observable:fileName"] == row["name"]
        assert file_facet["uco-observable:sizeInBytes"]["@value"] == str(row["size"])
        if row["sha256"]:
            content = next(f for f in facets if f["@type"] == "uco-observable:ContentDataFacet")
            hashes = {nodes[h["@id"]]["uco-types:hashMethod"]: nodes[h["@id"]]["uco-types:hashValue"]["@value"]
                      for h in content["uco-observable:hash"]}
            assert hashes == {"MD5": row["md5"], "SHA1": row["sha1"], "SHA256": row["sha256"]}
    # One action, the scan; nothing of the run itself (times, command line):
    # that is in manifest.json, so the graph is the same for every such scan.
    [action] = by_type["case-investigation:InvestigativeAction"]
    assert action["uco-core:name"] == run["command"] == "scan" and run["finished"]
    assert action["uco-action:actionStatus"] == "Complete/Finish"
    assert not {"uco-action:startTime", "uco-action:endTime", "uco-core:description"} & set(action)
    assert b"uco-action:startTime" not in first and b"uco-action:endTime" not in first
    assert run["record"]["case_dir"].encode() not in first
    configured = nodes[action["uco-action:instrument"]["@id"]]
    tool = nodes[configured["uco-configuration:isConfigurationOf"]["@id"]]
    assert tool["uco-core:name"] == "traffick-triage" and tool["uco-tool:version"]
    records = by_type["case-investigation:ProvenanceRecord"]
    assert {r["case-investigation:exhibitNumber"] for r in records} == {e["id"] for e in evidence}
    for record in records:
        evidence_node = nodes[record["uco-core:object"][0]["@id"]]
        assert evidence_node["uco-core:name"] == record["case-investigation:exhibitNumber"]
    relationships = by_type["uco-observable:ObservableRelationship"]
    assert len(relationships) == len(files)
    for node_id in nodes:
        assert re.search(r"-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$", node_id), node_id


# -- DFXML -----------------------------------------------------------------------------------

DF = "{%s}" % DFXML_NS
ROOT_ORDER = ["metadata", "creator", "source", "volume", "fileobject"]
CREATOR_ORDER = ["program", "version", "build_environment", "execution_environment", "library"]
VOLUME_ORDER = ["byte_runs", "partition_offset", "sector_size", "block_size", "ftype", "ftype_str",
                "block_count", "first_block", "last_block", "allocated_only", "fileobject"]
FILEOBJECT_ORDER = ["parent_object", "filename", "partition", "id", "name_type", "filesize", "unalloc", "alloc",
                    "used", "unused", "orphan", "compressed", "inode", "meta_type", "mode", "nlink", "uid", "gid",
                    "mtime", "ctime", "atime", "crtime", "seq", "dtime", "bkup_time", "link_target", "libmagic",
                    "byte_runs", "hashdigest"]
REPEATABLE = {"volume", "fileobject", "library", "hashdigest", "filename", "byte_runs"}
DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64}


def _check_order(element, order: list[str], where: str) -> list[str]:
    problems, position, seen = [], -1, set()
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = child.tag.replace(DF, "")
        if not child.tag.startswith(DF) or name not in order:
            problems.append(f"{where}: unexpected element {child.tag}")
            continue
        index = order.index(name)
        if index < position:
            problems.append(f"{where}: {name} out of schema order")
        if name in seen and name not in REPEATABLE:
            problems.append(f"{where}: {name} repeated")
        seen.add(name)
        position = index
    return problems


def dfxml_structural_problems(path: Path) -> list[str]:
    """STOP-GAP hand check of the DFXML schema's rules that this writer uses
    (element order of dfxml/creator/volume/fileobject sequences, bool01,
    integer and dateTime types, name_type and hashdigest enumerations, one
    Dublin Core element in metadata). It is NOT a substitute for validating
    against dfxml.xsd, which test_dfxml_validates_against_the_xsd does when
    the schema is available (see its skip message)."""
    root = ET.parse(path).getroot()
    problems = []
    if root.tag != DF + "dfxml" or root.get("version") != "1.2.0":
        problems.append(f"root is {root.tag} version {root.get('version')}")
    problems += _check_order(root, ROOT_ORDER, "dfxml")
    metadata = root.find(DF + "metadata")
    if metadata is None or len(metadata) != 1 or not metadata[0].tag.startswith("{http://purl.org/dc/elements/1.1/}"):
        problems.append("metadata must hold exactly one Dublin Core element")
    if root.find(DF + "source") is None:
        problems.append("source missing")
    creator = root.find(DF + "creator")
    if creator is not None:
        problems += _check_order(creator, CREATOR_ORDER, "creator")
    for volume in root.iter(DF + "volume"):
        problems += _check_order(volume, VOLUME_ORDER, "volume")
        if not (volume.get("offset") or "0").isdigit():
            problems.append("volume offset not a non-negative integer")
    for number, fileobject in enumerate(root.iter(DF + "fileobject")):
        where = f"fileobject {number}"
        problems += _check_order(fileobject, FILEOBJECT_ORDER, where)
        for child in fileobject:
            name, text = child.tag.replace(DF, ""), child.text or ""
            if name in ("alloc", "unalloc") and text not in ("0", "1"):
                problems.append(f"{where}: {name}={text!r} is not bool01")
            if name in ("filesize",) and not re.fullmatch(r"-?\d+", text):
                problems.append(f"{where}: filesize {text!r}")
            if name in ("inode", "partition") and not text.isdigit():
                problems.append(f"{where}: {name} {text!r}")
            if name == "partition" and text == "0":
                problems.append(f"{where}: partition must be positive")
            if name in ("mtime", "ctime", "atime", "crtime") and not DATETIME.match(text):
                problems.append(f"{where}: {name} {text!r} is not xs:dateTime")
            if name == "name_type" and text not in set("-pcdbrlshwv"):
                problems.append(f"{where}: name_type {text!r}")
            if name == "hashdigest":
                kind = child.get("type")
                if kind not in HEX_LENGTH or not re.fullmatch("[0-9a-f]{%d}" % HEX_LENGTH[kind], text):
                    problems.append(f"{where}: hashdigest {kind} {text!r}")
    return problems


def test_dfxml_structure_and_content(demo_copy):
    path = _render(demo_copy, write_dfxml)
    assert dfxml_structural_problems(path) == []
    first = path.read_bytes()
    assert _render(demo_copy, write_dfxml).read_bytes() == first
    root = ET.fromstring(first)
    store = CaseStore(demo_copy, readonly=True)
    files = {f["locator"]: f for f in store.files()}
    evidence = store.evidence()
    store.close()
    images = [e.text for e in root.find(DF + "source")]
    assert images == [h["path"] for item in evidence for h in item["host_files"]]
    objects = {fo.find(DF + "id").text: fo for fo in root.iter(DF + "fileobject")}
    assert set(objects) == set(files)
    for locator, row in files.items():
        fo = objects[locator]
        assert int(fo.find(DF + "filesize").text) == row["size"]
        assert fo.find(DF + "alloc").text == ("1" if row["allocated"] else "0")
        digests = {d.get("type"): d.text for d in fo.findall(DF + "hashdigest")}
        assert digests == {k: row[k] for k in ("md5", "sha1", "sha256") if row[k]}
    deleted = [fo for fo in objects.values() if fo.find(DF + "alloc").text == "0"]
    assert deleted, "the demo has a deleted file"
    assert root.find(f"{DF}creator/{DF}program").text == "traffick-triage"


def test_dfxml_structural_check_can_fail(demo_copy):
    path = _render(demo_copy, write_dfxml)
    text = path.read_text(encoding="utf-8")
    broken = demo_copy / "broken.dfxml"
    broken.write_text(text.replace("<alloc>1</alloc>", "<alloc>yes</alloc>", 1), encoding="utf-8")
    assert any("bool01" in p for p in dfxml_structural_problems(broken))
    moved = re.sub(r"(<filename>[^<]*</filename>)(\s*)(<partition>\d+</partition>)", r"\3\2\1", text, count=1)
    broken.write_text(moved, encoding="utf-8")
    assert any("out of schema order" in p for p in dfxml_structural_problems(broken))


def test_dfxml_escapes_what_xml_cannot_carry(tmp_path):
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "a<b>&c.txt").write_bytes(b"x")
    (folder / "tab\there.txt").write_bytes(b"y")
    (folder / "ctl\x01.txt").write_bytes(b"z")
    case = tmp_path / "case"
    scan([folder], case)  # warnings (odd names) are fine here
    path = _render(case, write_dfxml)
    assert dfxml_structural_problems(path) == []
    names = sorted(e.text for e in ET.parse(path).getroot().iter(DF + "filename"))
    store = CaseStore(case, readonly=True)
    assert names == sorted(f["path"].lstrip("/") for f in store.files())
    store.close()
    assert any(n.startswith("a<b") and n.endswith("&c.txt") for n in names)
    # what the store may still hold (lone surrogates, control characters) is escaped visibly
    from traffick_triage.report.dfxml import xml_text
    assert xml_text("x\x01y\udcffz<&>") == "x\\x01y\\udcffz&lt;&amp;&gt;"
    ET.fromstring(f"<a>{xml_text(chr(0) + chr(0xDC80) + 'ok')}</a>")


DFXML_XSD_ENV = "TRAFFICK_TRIAGE_DFXML_XSD"


def _dfxml_schema():
    location = os.environ.get(DFXML_XSD_ENV)
    if not location or not Path(location).is_file():
        pytest.skip(f"dfxml.xsd is not shipped by any package this project can install (PyPI, Debian); "
                    f"set {DFXML_XSD_ENV} to dfxml.xsd of a dfxml_schema checkout (with its ref/ folder) "
                    "to validate; the structural stop-gap check above runs meanwhile")
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(location)


def test_dfxml_validates_against_the_xsd(demo_copy):
    schema = _dfxml_schema()
    path = _render(demo_copy, write_dfxml)
    schema.validate(str(path))
    text = path.read_text(encoding="utf-8")
    broken = demo_copy / "broken.dfxml"
    broken.write_text(text.replace("<alloc>1</alloc>", "<alloc>2</alloc>", 1), encoding="utf-8")
    assert not schema.is_valid(str(broken))


# -- VICS export -----------------------------------------------------------------------------

SET_MATCH = dict(set_name="lab-vics", set_format="vics-json", hash_type="md5", category="Child Abuse Material",
                 category_code=1, scheme="vics-us", series="Series-A", label="a.jpg", victim_identified=True,
                 is_distributed=False, known_good=False)


@pytest.fixture()
def matched_case(tmp_path) -> tuple[Path, dict[str, dict]]:
    folder = tmp_path / "evidence"
    folder.mkdir()
    for index in range(5):
        (folder / f"file{index}.bin").write_bytes(f"synthetic content {index}\n".encode())
    (folder / "dup-of-0.bin").write_bytes(b"synthetic content 0\n")
    case = tmp_path / "case"
    scan([folder], case, expect_exit=0)
    store = CaseStore(case)
    rows = {f["name"]: f for f in store.files() if f["kind"] == "file"}
    store.begin()

    def add(name: str, kind: str, data: dict) -> None:
        row = rows[name]
        store.add_finding(row["evidence_id"], row["locator"], "hashsets", "1.0", kind, data, [])

    add("file0.bin", "hashset.match", SET_MATCH)
    add("dup-of-0.bin", "hashset.match", SET_MATCH)
    add("file1.bin", "hashset.match", dict(SET_MATCH, category="Category B", category_code=2, scheme="vics-uk",
                                           series=None, victim_identified=None, is_distributed=None))
    add("file2.bin", "hashset.match", dict(SET_MATCH, set_name="nsrl", set_format="nsrl-rds", category="known",
                                           category_code=None, scheme="nsrl", series=None, known_good=True))
    add("file3.bin", "perceptual.match", dict(algorithm="pdq", distance=12, threshold=31, hash="0f" * 32,
                                              set_name="lab-pdq", label="b", category="Child Abuse Material",
                                              library_version="0.2.8"))
    add("file4.bin", "hashset.match", dict(SET_MATCH, category="Comparison Images", category_code=4, series="S2"))
    add("file4.bin", "perceptual.match", dict(algorithm="phash", distance=3, threshold=8, hash="00ff00ff00ff00ff",
                                              set_name="lab-phash", label="c", category=None, library_version="4.3"))
    store.add_finding(rows["file0.bin"]["evidence_id"], rows["file0.bin"]["locator"], "identifiers", "1.0",
                      "identifier", {"kind": "email", "value": "x@example.org"}, [])
    store.commit()
    store.close()
    return case, rows


def test_vics_export_round_trips_through_our_reader(matched_case):
    case, rows = matched_case
    path = _render(case, write_vics_export)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["@odata.context"].endswith("$metadata#Cases")
    media = document["value"][0]["Media"]
    assert [m["MediaID"] for m in media] == list(range(1, len(media) + 1))
    reader = VicsJsonReader(path, scheme=document["@TrafficTriage.CategoryScheme"])
    entries = list(reader)
    assert reader.problems == []
    by_sha256 = {e.sha256: e for e in entries}
    # file0 and its duplicate are one Media; nsrl (known_good) is left out.
    assert set(by_sha256) == {rows[n]["sha256"] for n in ("file0.bin", "file1.bin", "file3.bin", "file4.bin")}
    for name in ("file0.bin", "file1.bin", "file3.bin", "file4.bin"):
        entry, row = by_sha256[rows[name]["sha256"]], rows[name]
        assert (entry.md5, entry.sha1) == (row["md5"], row["sha1"])
    e0 = by_sha256[rows["file0.bin"]["sha256"]]
    assert (e0.category, e0.category_code, e0.series) == ("Child Abuse Material", 1, "Series-A")
    assert (e0.victim_identified, e0.is_distributed) == (True, False)
    e1 = by_sha256[rows["file1.bin"]["sha256"]]
    assert (e1.category, e1.category_code) == ("Category B", None)  # other scheme: written as its name
    e3 = by_sha256[rows["file3.bin"]["sha256"]]
    assert e3.pdq == "0f" * 32 and e3.category is None  # perceptual only: no category asserted
    e4 = by_sha256[rows["file4.bin"]["sha256"]]
    assert (e4.category, e4.category_code, e4.series, e4.phash) == ("Comparison Images", 4, "S2", "00ff00ff00ff00ff")
    dup = next(m for m in media if m["SHA256"].lower() == rows["file0.bin"]["sha256"])
    assert sorted(f["FileName"] for f in dup["MediaFiles"]) == ["dup-of-0.bin", "file0.bin"]
    assert _render(case, write_vics_export).read_bytes() == path.read_bytes()


def test_vics_export_without_matches_is_an_empty_media_list(demo_copy):
    path = _render(demo_copy, write_vics_export)
    assert json.loads(path.read_text())["value"][0]["Media"] == []
    assert list(VicsJsonReader(path)) == []


# -- CSV -------------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_tables_demo(demo_copy):
    paths = _render(demo_copy, write_csv_tables)
    names = {p.name for p in paths}
    assert {"evidence.csv", "files.csv", "warnings.csv", "contacts.csv", "messages.csv",
            "identifiers.csv", "keywords.csv"} <= names
    store = CaseStore(demo_copy, readonly=True)
    files, findings = list(store.files()), list(store.findings())
    store.close()
    table = _read_csv(demo_copy / "csv" / "files.csv")
    assert len(table) == 1 + len(files)
    assert [row[1] for row in table[1:]] == [f["locator"] for f in files]
    messages = _read_csv(demo_copy / "csv" / "messages.csv")
    assert len(messages) == 1 + sum(1 for f in findings if f["kind"] == "comms.message")
    keywords = (demo_copy / "csv" / "identifiers.csv").read_text(encoding="utf-8-sig")
    assert "وظيفة" in keywords  # Arabic intact
    before = {p.name: p.read_bytes() for p in paths}
    again = _render(demo_copy, write_csv_tables)
    assert {p.name: p.read_bytes() for p in again} == before


def test_csv_neutralises_formulas_and_removes_stale_tables(matched_case):
    case, rows = matched_case
    store = CaseStore(case)
    row = rows["file0.bin"]
    store.begin()
    nasty = ["=HYPERLINK(\"http://x\",\"y\")", "+1234", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "safe", "اسم"]
    for value in nasty:
        store.add_finding(row["evidence_id"], row["locator"], "identifiers", "1.0", "identifier",
                          {"kind": "other", "value": value}, [])
    store.commit()
    store.close()
    (case / "csv").mkdir(exist_ok=True)
    (case / "csv" / "old_kind.csv").write_text("stale")
    paths = _render(case, write_csv_tables)
    assert not (case / "csv" / "old_kind.csv").exists()
    assert {"hashset_matches.csv", "perceptual_matches.csv"} <= {p.name for p in paths}
    table = _read_csv(case / "csv" / "identifiers.csv")
    value_column = table[0].index("value")
    values = {r[value_column] for r in table[1:]}
    for value in nasty:
        expected = "'" + value if value[0] in "=+-@\t\r" else value
        assert expected in values, (value, values)
    for r in table[1:]:
        for cell in r:
            assert not cell or cell[0] not in "=+-@\t\r"
