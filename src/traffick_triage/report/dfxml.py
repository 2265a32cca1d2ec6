"""inventory.dfxml: the file inventory as Digital Forensics XML (DFXML).

Namespace ``http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML``,
``version="1.2.0"``. Element order follows the DFXML schema
(dfxml-working-group/dfxml_schema, ``dfxml.xsd``), which fixes the order of
children with ``xs:sequence``:

    dfxml
      metadata          one Dublin Core element (dc:type)
      creator           program, version, execution_environment (os_sysname
                        only: no command line nor start time, which differ
                        from run to run; they are in manifest.json), library*
      source            image_filename* (every evidence file on the examiner's
                        disk: all E01 segments, split raw parts, the ZIP...)
      volume*           one per file-system volume of a disk image
                        (offset = byte offset in the image, partition_offset,
                        ftype_str), holding that volume's fileobjects
      fileobject*       files of evidence without volumes (archives, folders,
                        backups) and files of NTFS shadow-copy snapshots, at
                        top level as the schema requires

and each fileobject is, in schema order: filename (path inside the volume or
archive), partition (1-based, disk images only), id (our locator, which is
unique in the case and links the entry to every other output), name_type
(r, d, l, v for TSK virtual/other, - unknown), filesize, alloc (1/0), inode,
mtime, ctime, atime, crtime, link_target, libmagic (the MIME type found by
libmagic), hashdigest type="md5"/"sha1"/"sha256".

Times are xs:dateTime: UTC values keep their "+00:00"; times recorded in an
unknown local zone (FAT, ZIP) are written without a zone, which XML Schema
reads as "zone not known", never as UTC.

Several evidence items share one file; an XML comment before each volume
names its evidence item and volume label. Characters XML 1.0 cannot carry
(control characters, lone surrogates from undecodable names) are written as
the visible escapes ``\\xNN`` / ``\\uNNNN``; the locator in ``id`` is escaped
the same way.

The file is streamed (two passes over the store), so memory does not grow with
the number of files, and it is deterministic: nothing from the time or machine
of writing goes in, only what the store recorded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Any, Iterator

from ..atomic import atomic_writer
from ..store import CaseStore
from ..sources.carving import ADDRESS_KEY as CARVED_RUNS

DFXML_NAME = "inventory.dfxml"
DFXML_NS = "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML"
DC_NS = "http://purl.org/dc/elements/1.1/"
DFXML_VERSION = "1.2.0"

_NAME_TYPE = {"file": "r", "dir": "d", "symlink": "l", "other": "v"}
# (store time key, DFXML element) in schema order.
_TIMES = (("modified", "mtime"), ("changed", "ctime"), ("accessed", "atime"), ("created", "crtime"))
# What a fileobject needs of each row.
_COLUMNS = ("evidence_id", "locator", "path", "kind", "size", "allocated", "inode", "address", "times",
            "link_target", "mime", "md5", "sha1", "sha256")
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_PLAIN = re.compile("[^\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff&<>]*\\Z")
_DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def _escape_invalid(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_text(value: Any) -> str:
    text = str(value)
    if _PLAIN.match(text):
        return text     # most values: one regex test instead of a substitution and three replaces
    text = _INVALID_XML.sub(_escape_invalid, text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: Any) -> str:
    return xml_text(value).replace('"', "&quot;")


def _element(name: str, value: Any, indent: str) -> str:
    return f"{indent}<{name}>{xml_text(value)}</{name}>\n"


def _comment(text: str) -> str:
    return xml_text(text).replace("--", "- -")


def _volume_key(row: dict[str, Any]) -> int | None:
    address = row.get("address") or {}
    if "shadow_store" in address:
        # A file of a Volume Shadow Copy snapshot: DFXML has no element for a
        # snapshot, and in the live volume's it would stand beside the live
        # file of the same name; at top level, its id (locator) names the snapshot.
        return None
    offset = address.get("volume_offset")
    return offset if isinstance(offset, int) and offset >= 0 else None


def _fileobject(row: dict[str, Any], partition: int | None, indent: str) -> str:
    inner = indent + "  "
    out = [f"{indent}<fileobject>\n", _element("filename", row["path"].lstrip("/") or "/", inner)]
    if partition:
        out.append(_element("partition", partition, inner))
    out.append(_element("id", row["locator"], inner))
    out.append(_element("name_type", _NAME_TYPE.get(row["kind"], "-"), inner))
    out.append(_element("filesize", int(row["size"]), inner))
    out.append(_element("alloc", 1 if row["allocated"] else 0, inner))
    inode = (row.get("address") or {}).get("inode")
    if inode is None and row.get("inode") and str(row["inode"]).isdigit():
        inode = int(row["inode"])
    if isinstance(inode, int) and inode >= 0:
        out.append(_element("inode", inode, inner))
    times = row.get("times") or {}
    for key, name in _TIMES:
        value = times.get(key) or times.get(key + "_local")
        if isinstance(value, str) and _DATETIME.match(value):
            out.append(_element(name, value, inner))
    if row.get("link_target"):
        out.append(_element("link_target", row["link_target"], inner))
    if row.get("mime"):
        out.append(_element("libmagic", row["mime"], inner))
    out.append(_carved_byte_runs(row.get("address") or {}, inner))     # before the digests, as the schema orders
    for kind in ("md5", "sha1", "sha256"):
        if row.get(kind):
            out.append(f'{inner}<hashdigest type="{kind}">{xml_text(row[kind])}</hashdigest>\n')
    out.append(f"{indent}</fileobject>\n")
    return "".join(out)


def _carved_byte_runs(address: dict[str, Any], indent: str) -> str:
    """A carved file's places in the image (sources/carving.py's address: runs
    within its volume) as DFXML byte runs: offset in the file, offset in
    the image (the disk's bytes: an E01's media), length."""
    runs, base = address.get(CARVED_RUNS), address.get("volume_offset")
    if not isinstance(runs, list) or not runs or not isinstance(base, int):
        return ""
    out, position = [f"{indent}<byte_runs>\n"], 0
    for run in runs:
        if not (isinstance(run, list) and len(run) == 2 and all(isinstance(v, int) for v in run)):
            return ""
        out.append(f"{indent}  <byte_run file_offset='{position}' img_offset='{base + run[0]}' len='{run[1]}'/>\n")
        position += run[1]
    out.append(f"{indent}</byte_runs>\n")
    return "".join(out)


def _header(store: CaseStore, evidence: list[dict[str, Any]]) -> str:
    runs = store.runs()
    scans = [run for run in runs if run["command"] == "scan"] or runs
    record = scans[-1]["record"] if scans else {}
    identity = store.get_meta("identity", {}) or {}
    tool = record.get("tool") or identity.get("tool") or {"name": "traffick-triage"}
    environment = record.get("environment") or identity.get("environment") or {}
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           f'<dfxml xmlns="{DFXML_NS}" xmlns:dc="{DC_NS}" version="{DFXML_VERSION}">\n',
           "  <metadata>\n", _element("dc:type", "File inventory", "    "), "  </metadata>\n",
           "  <creator>\n", _element("program", tool.get("name", "traffick-triage"), "    ")]
    if tool.get("version"):
        out.append(_element("version", tool["version"], "    "))
    env_lines = []
    platform = record.get("platform")
    if platform:
        env_lines.append(_element("os_sysname", str(platform).split("-", 1)[0], "      "))
    # No command_line nor start_time: they differ from run to run (the case
    # folder is on the command line), and this file is the same for every scan
    # of the same evidence with the same options and sets. The run record is
    # in manifest.json.
    if env_lines:
        out += ["    <execution_environment>\n", *env_lines, "    </execution_environment>\n"]
    libraries = dict(environment.get("libraries") or {})
    if environment.get("python"):
        libraries["Python"] = environment["python"]
    for name in sorted(libraries):
        out.append(f'    <library name="{_attr(name)}" version="{_attr(libraries[name])}"/>\n')
    out.append("  </creator>\n")
    return "".join(out)


def _source(store: CaseStore, evidence: list[dict[str, Any]]) -> Iterator[str]:
    """Every evidence file on the host (a folder item: every file in it), or
    the item's own path when it has none."""
    yield "  <source>\n"
    for item in evidence:
        named = False
        for host in store.host_files(item["id"]):
            named = True
            yield _element("image_filename", host["path"], "    ")
        if not named:
            yield _element("image_filename", item["path"], "    ")
    yield "  </source>\n"


def write_dfxml(store: CaseStore, case_dir: str | Path) -> Path:
    """Write CASE_DIR/inventory.dfxml from the case store and return its path."""
    target = Path(case_dir) / DFXML_NAME
    evidence = store.evidence_items()
    volumes: dict[str, dict[int, tuple[int, dict[str, Any]]]] = {}
    for item in evidence:
        listed = (item.get("description") or {}).get("volumes") or []
        volumes[item["id"]] = {vol.get("offset"): (index, vol) for index, vol in enumerate(listed, start=1)
                               if isinstance(vol.get("offset"), int)}
    with atomic_writer(target) as stream:
        stream.write(_header(store, evidence))
        stream.writelines(_source(store, evidence))
        _write_volumes(stream, store, evidence, volumes)
        for row in store.file_rows(_COLUMNS):
            if _volume_key(row) is None:
                stream.write(_fileobject(row, None, "  "))
        stream.write("</dfxml>\n")
    return target


def _write_volumes(stream: IO[str], store: CaseStore, evidence: list[dict[str, Any]],
                   volumes: dict[str, dict[int, tuple[int, dict[str, Any]]]]) -> None:
    names = {item["id"]: item["name"] for item in evidence}
    current: tuple[str, int] | None = None
    partition: int | None = None
    for row in store.file_rows(_COLUMNS):
        offset = _volume_key(row)
        if offset is None:
            continue
        key = (row["evidence_id"], offset)
        if key != current:
            if current is not None:
                stream.write("  </volume>\n")
            current = key
            partition, description = volumes.get(row["evidence_id"], {}).get(offset, (None, {}))
            label = description.get("label") or (row["locator"].split(" > ")[1] if " > " in row["locator"] else "")
            stream.write(f"  <!-- evidence {_comment(row['evidence_id'])} ({_comment(names.get(row['evidence_id'], ''))})"
                         f", volume {_comment(label)} -->\n")
            stream.write(f'  <volume offset="{offset}">\n')
            if offset > 0:
                stream.write(_element("partition_offset", offset, "    "))
            if description.get("file_system"):
                stream.write(_element("ftype_str", description["file_system"], "    "))
        stream.write(_fileobject(row, partition, "    "))
    if current is not None:
        stream.write("  </volume>\n")
