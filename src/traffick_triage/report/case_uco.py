"""case.jsonld: the case in CASE/UCO JSON-LD (CASE 1.x, UCO 1.x).

What is written (one ``@graph``, every node with an ``@id``):

* ``case-investigation:Investigation`` named by the case number, grouping the
  investigative actions.
* one ``case-investigation:InvestigativeAction``, the scan (a resumed scan is
  still one), with its status, ``uco-action:instrument`` = the configured
  tool, ``uco-action:performer`` = the examiner (when named),
  ``uco-action:object`` = the evidence items, ``uco-action:result`` = the
  provenance records. No start or end time, command line or platform: they
  differ from run to run, and this file is the same for every scan of the
  same evidence with the same options and sets; the run record (times,
  command line, platform, case folder) is in manifest.json.
* ``uco-tool:Tool`` (name, version) and a ``uco-tool:ConfiguredTool`` whose
  ``uco-configuration:Configuration`` lists the scan's options, plugins (name
  = version), Python and library versions as ``ConfigurationEntry`` items.
* each evidence item as ``uco-observable:ObservableObject`` (name = evidence
  ID) with a ``ContentDataFacet`` carrying the hashes and size of the acquired
  media; the files that hold it on the examiner's disk (E01 segments, the ZIP)
  as ``uco-observable:File`` with their own hashes.
* each inventoried file as ``uco-observable:File`` (a subclass of
  ``uco-observable:ObservableObject``) with a ``FileFacet`` (fileName,
  filePath, extension, sizeInBytes, isDirectory, allocationStatus, times) and
  a ``ContentDataFacet`` (sizeInBytes, mimeType, ``uco-types:Hash`` nodes with
  hashMethod "MD5"/"SHA1"/"SHA256" from UCO's HashNameVocab, and hashValue as
  xsd:hexBinary); ``uco-core:name`` is the file's locator.
* per evidence item, a ``case-investigation:ProvenanceRecord`` (exhibitNumber
  = evidence ID) whose ``uco-core:object`` is the item, its host files and
  every file found in it, and per file a ``uco-observable:ObservableRelationship``
  "Contained_Within" from the file to its evidence item.
* each finding of a kind the report knows nothing of (finding_kinds.generic_kinds:
  a third-party plugin's, a new built-in's) as a
  ``uco-observable:ObservableObject`` named by its kind, whose
  ``uco-core:description`` values say which plugin (and version) found it
  where, then give its fields as "name: value"; an
  ``ObservableRelationship`` "Extracted_From" links it to the file it came
  from. UCO has no generic key/value property on an observable (a
  ``uco-types:Dictionary`` hangs only off specific classes), so the fields are
  descriptions. Bounded like the page's "Other findings": the first
  html.ROW_LIMIT findings of each kind, finding_kinds.MAX_COLUMNS fields each,
  every value cut to finding_kinds.MAX_CELL characters; every finding is in
  report.json and the CSV tables. The kinds in finding_kinds.KNOWN_KINDS
  (messages, calls, EXIF...) have no node here yet; they need their own
  UCO classes (MessageFacet, CallFacet...), not this generic form.

Identifiers are deterministic, so re-rendering the same store gives the same
bytes: objects are ``kb:<kind>-<uuid5>`` in a namespace derived from the case
number and the evidence items' IDs and hashes (two different cases do not
collide when their graphs are merged); facets and hashes follow case-utils'
``inherent_uuid`` scheme (facet = uuid5(object UUID, facet class IRI), hash =
uuid5(URL, "urn:hash::<method>:<value>")), so they match what CASE tooling
would compute. ``kb`` expands to ``http://example.org/kb/`` unless the caller
passes its own base IRI (a lab should use its own namespace).

Times with no known time zone (FAT, ZIP) are written as xsd:dateTime without a
zone offset, which XML Schema defines as "zone unknown": they are never
presented as UTC.

Validate with ``case_validate case.jsonld`` (package case-utils, the
project's ``case`` extra).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import uuid
from pathlib import Path
from typing import Any, Iterator

from ..atomic import atomic_writer
from ..store import CaseStore, dumps
from ..external_sort import ExternalSort
from . import finding_kinds

CASE_JSONLD = "case.jsonld"
DEFAULT_KB = "http://example.org/kb/"

UCO = "https://ontology.unifiedcyberontology.org/uco/"
CONTEXT = {
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": UCO + "action/",
    "uco-configuration": UCO + "configuration/",
    "uco-core": UCO + "core/",
    "uco-identity": UCO + "identity/",
    "uco-observable": UCO + "observable/",
    "uco-tool": UCO + "tool/",
    "uco-types": UCO + "types/",
    "uco-vocabulary": UCO + "vocabulary/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

_HASH_METHODS = (("md5", "MD5"), ("sha1", "SHA1"), ("sha256", "SHA256"))
# File times in the store -> FileFacet properties (UTC first, then local).
_TIME_PROPS = (
    ("modified", "uco-observable:modifiedTime"),
    ("accessed", "uco-observable:accessedTime"),
    ("changed", "uco-observable:metadataChangeTime"),
    ("created", "uco-observable:observableCreatedTime"),
)


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes
_FACET_NAMES: dict[str, tuple[str, str]] = {}


def _facet_names(facet_class: str) -> tuple[str, str]:
    """(local name, full IRI) of a facet class such as "uco-observable:FileFacet"."""
    prefix, local = facet_class.split(":", 1)
    _FACET_NAMES[facet_class] = (local, CONTEXT[prefix] + local)
    return _FACET_NAMES[facet_class]


def _ref(node_id: str) -> dict[str, str]:
    return {"@id": node_id}


def _uuid5(namespace: bytes, name: str) -> tuple[str, bytes]:
    """uuid.uuid5(UUID(bytes=namespace), name) as its text and its bytes,
    without making UUID objects (they cost a third of this writer's time)."""
    raw = bytearray(hashlib.sha1(namespace + name.encode("utf-8")).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50     # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80     # RFC 4122 variant
    hexed = raw.hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}", bytes(raw)


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _uuid5_text(namespace: bytes, name: str) -> str:
    """_uuid5(namespace, name)[0], from the hex digest: the version digit
    replaced by 5, the variant digit's top two bits set to 10."""
    h = hashlib.sha1(namespace + name.encode("utf-8")).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


class _Ids:
    """Deterministic node identifiers (see the module docstring)."""

    def __init__(self, case_key: str) -> None:
        self.namespace = _uuid5(uuid.NAMESPACE_URL.bytes, "urn:traffick-triage:case:" + case_key)[1]

    def object(self, kind: str, name: str) -> tuple[str, bytes]:
        text, raw = _uuid5(self.namespace, f"{kind}\x00{name}")
        return f"kb:{kind}-{text}", raw

    @staticmethod
    def facet(object_uuid: bytes, facet_class: str) -> str:
        local, full = _FACET_NAMES.get(facet_class) or _facet_names(facet_class)
        return f"kb:{local}-{_uuid5_text(object_uuid, full)}"

    @staticmethod
    def hash(method: str, value: str) -> str:
        return f"kb:Hash-{_uuid5_text(_URL_NAMESPACE, f'urn:hash::{method}:{value.lower()}')}"


# Compact, so the C encoder does the work (json.dumps(indent=...) is the pure-Python
# one, ten times slower); one encoder for every node saves json.dumps' set-up.
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# What _compact writes for a str (the encoder's own string function, in C): the
# nodes written per file are spelt out as text with it, not built as dicts and
# encoded (they are most of the graph; the text is what _compact gives).
_string = json.encoder.encode_basestring


def _text(value: Any) -> str:
    return _string(value) if type(value) is str else _compact(value)


def _refs(node_ids: list[str]) -> str:
    """_compact([_ref(i) for i in node_ids]), for IRIs (which need no escaping)."""
    return "[" + ",".join(f'{{"@id":"{node_id}"}}' for node_id in node_ids) + "]"


class _Graph:
    """The nodes of ``@graph``, which the document lists sorted by ``@id``: kept
    as JSON text in an ExternalSort until written (about eight nodes a file)."""

    def __init__(self) -> None:
        self._nodes = ExternalSort(1, 3)

    def add(self, node: dict[str, Any], objects_of: str | None = None) -> str:
        """``objects_of``: an evidence item whose objects (see _objects) become the
        node's last property, "uco-core:object": listed from the store as the
        node is written, since a folder's list names every file in it."""
        text = _compact(node)
        if objects_of is not None:
            text = text[:-1] + ',"uco-core:object":'
        node_id = node["@id"]
        self._nodes.add_text_key(node_id, (node_id, text, objects_of))     # IRIs: ASCII
        return node_id

    def add_text(self, node_id: str, text: str) -> None:
        """A node already written as compact JSON (what _compact of it gives)."""
        self._nodes.add_text_key(node_id, (node_id, text, None))

    def hashes(self, values: dict[str, Any]) -> list[str]:
        """Adds the Hash node of each hash in ``values``; returns their IRIs."""
        refs = []
        for key, method in _HASH_METHODS:
            value = values.get(key)
            if isinstance(value, str) and value:
                node_id = _Ids.hash(key, value)
                # _compact of the node, spelt out: a third of all nodes are hashes.
                self._nodes.add_text_key(node_id, (node_id, (
                    f'{{"@id":"{node_id}","@type":"uco-types:Hash","uco-types:hashMethod":"{method}",'
                    f'"uco-types:hashValue":{{"@type":"xsd:hexBinary","@value":{_string(value.lower())}}}}}'), None))
                refs.append(node_id)
        return refs

    def in_order(self) -> Iterator[tuple[str, str | None]]:
        """(text, objects_of) of each node by ``@id``. A node added more than
        once must be the same node each time; the last one added is written."""
        previous: tuple[str, str, str | None] | None = None
        for node_id, text, objects_of in self._nodes:
            if previous is not None and previous[0] == node_id:
                if text != previous[1] and json.loads(text) != json.loads(previous[1]):
                    raise ValueError(f"two different nodes share the IRI {node_id}")
            elif previous is not None:
                yield previous[1], previous[2]
            previous = (node_id, text, objects_of)
        if previous is not None:
            yield previous[1], previous[2]

    def close(self) -> None:
        self._nodes.close()


def _content_facet(graph: _Graph, object_uuid: bytes, hashes: dict[str, Any],
                   size: int | None = None, mime: str | None = None) -> str | None:
    """Adds the ContentDataFacet (with its Hash nodes) and returns its IRI, or
    None when there is nothing to say. Written as _compact would write
    {"@id", "@type", "uco-observable:hash": [refs], "uco-observable:sizeInBytes",
    "uco-observable:mimeType"}."""
    facet_id = _Ids.facet(object_uuid, "uco-observable:ContentDataFacet")
    parts = [f'{{"@id":"{facet_id}","@type":"uco-observable:ContentDataFacet"']
    refs = graph.hashes(hashes)
    if refs:
        parts.append(',"uco-observable:hash":' + _refs(refs))
    if size is not None:
        parts.append(f',"uco-observable:sizeInBytes":{{"@type":"xsd:integer","@value":"{int(size)}"}}')
    if mime:
        parts.append(',"uco-observable:mimeType":' + _text(mime))
    if len(parts) == 1:
        return None
    graph.add_text(facet_id, "".join(parts) + "}")
    return facet_id


def _configuration_entries(record: dict[str, Any]) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []

    def flatten(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key in sorted(value):
                flatten(f"{prefix}.{key}" if prefix else str(key), value[key])
        elif isinstance(value, str):
            entries.append((prefix, value))
        else:
            entries.append((prefix, dumps(value)))

    options = record.get("options") or {}
    flatten("option", {k: v for k, v in options.items() if k not in ("case", "evidence")})
    for plugin in record.get("plugins") or []:
        entries.append((f"plugin.{plugin.get('name')}", str(plugin.get("version"))))
    environment = record.get("environment") or {}
    if environment.get("python"):
        entries.append(("python", str(environment["python"])))
    for name, version in sorted((environment.get("libraries") or {}).items()):
        entries.append((f"library.{name}", str(version)))
    for index, hashset in enumerate(record.get("hashsets") or []):
        entries.append((f"hashset.{index}", hashset if isinstance(hashset, str) else dumps(hashset)))
    return entries


def _case_key(case: dict[str, Any], evidence: list[dict[str, Any]]) -> str:
    return dumps([case.get("case_number"),
                  [[item["id"], (item.get("hashes") or {}).get("sha256")] for item in evidence]])


# What a file node needs of each row (files() would decode ``address`` too).
_FILE_COLUMNS = ("evidence_id", "locator", "path", "name", "kind", "size", "allocated", "md5", "sha1", "sha256",
                 "mime", "times", "notes")


def _add_nodes(store: CaseStore, graph: _Graph) -> _Ids:
    """Every node of the case in `store` into `graph`; returns the identifiers
    used, which the provenance records' object lists need when written."""
    evidence = store.evidence_items()
    runs = store.runs()
    case = store.get_meta("case", {}) or {}
    identity = store.get_meta("identity", {}) or {}
    latest = runs[-1]["record"] if runs else {}
    case = case or latest.get("case") or {}
    tool_info = latest.get("tool") or identity.get("tool") or {"name": "traffick-triage"}
    ids = _Ids(_case_key(case, evidence))

    # -- the tool and the examiner ---------------------------------------------------
    tool_id, _ = ids.object("Tool", f"{tool_info.get('name')}\x00{tool_info.get('version')}")
    tool = {"@id": tool_id, "@type": "uco-tool:Tool", "uco-core:name": str(tool_info.get("name")),
            "uco-tool:toolType": "Digital forensic triage"}
    if tool_info.get("version"):
        tool["uco-tool:version"] = str(tool_info["version"])
    graph.add(tool)
    examiner_id = None
    if case.get("examiner"):
        examiner_id, _ = ids.object("Identity", str(case["examiner"]))
        graph.add({"@id": examiner_id, "@type": "uco-identity:Identity",
                   "uco-core:name": str(case["examiner"])})

    # -- evidence items -----------------------------------------------------------------
    evidence_ids: dict[str, str] = {}
    for item in evidence:
        node_id, node_uuid = ids.object("EvidenceItem", item["id"])
        evidence_ids[item["id"]] = node_id
        hashes = item.get("hashes") or {}
        node: dict[str, Any] = {"@id": node_id, "@type": "uco-observable:ObservableObject",
                                "uco-core:name": item["id"],
                                "uco-core:description": f"{item['name']} ({item['kind']})"}
        facet_id = _content_facet(graph, node_uuid, hashes, hashes.get("size"))
        if facet_id:
            node["uco-core:hasFacet"] = [_ref(facet_id)]
        graph.add(node)
        for host in store.host_files(item["id"]):
            path = host["path"]
            host_id, host_uuid = ids.object("File", "host\x00" + path)
            facet_id = _Ids.facet(host_uuid, "uco-observable:FileFacet")
            graph.add_text(facet_id, (
                f'{{"@id":"{facet_id}","@type":"uco-observable:FileFacet",'
                f'"uco-observable:fileName":{_text(posixpath.basename(path.replace(chr(92), "/")))},'
                f'"uco-observable:filePath":{_text(path)},'
                f'"uco-observable:sizeInBytes":{{"@type":"xsd:integer","@value":{_text(str(host["size"]))}}}}}'))
            facets = [facet_id]
            content_id = _content_facet(graph, host_uuid, host, host.get("size"))
            if content_id:
                facets.append(content_id)
            # One node per host file: a folder item and an archive item
            # may share one (the archive lies in the folder); each
            # item's provenance record says which item it belongs to.
            graph.add_text(host_id, (
                f'{{"@id":"{host_id}","@type":"uco-observable:File",'
                f'"uco-core:description":"evidence file on the examiner\'s host","uco-core:hasFacet":{_refs(facets)}}}'))

    # -- files ----------------------------------------------------------------------------
    for row in store.file_rows(_FILE_COLUMNS):
        node_id, node_uuid = ids.object("File", row["locator"])
        _add_file_nodes(graph, row, node_id, node_uuid)
        rel_id, _ = ids.object("Relationship", "contained\x00" + row["locator"])
        # _compact of the relationship node, spelt out (a node per file; IRIs need no escaping).
        graph.add_text(rel_id, (
            f'{{"@id":"{rel_id}","@type":"uco-observable:ObservableRelationship",'
            f'"uco-core:source":[{{"@id":"{node_id}"}}],"uco-core:target":{{"@id":"{evidence_ids[row["evidence_id"]]}"}},'
            f'"uco-core:kindOfRelationship":"Contained_Within",'
            f'"uco-core:isDirectional":{{"@type":"xsd:boolean","@value":"true"}}}}'))

    _add_generic_findings(store, graph, ids, evidence_ids)

    provenance_ids = []
    for item in evidence:
        prov_id, _ = ids.object("ProvenanceRecord", item["id"])
        graph.add({"@id": prov_id, "@type": "case-investigation:ProvenanceRecord",
                   "case-investigation:exhibitNumber": item["id"],
                   "uco-core:description": f"{item['id']} and the files found in it"}, objects_of=item["id"])
        provenance_ids.append(_ref(prov_id))

    # -- the scan: one investigative action ---------------------------------------------------
    # Nothing of the run itself (start and end times, command line, platform,
    # case folder): they differ from run to run, and this file is the same for
    # every scan of the same evidence with the same options and sets. The run
    # record is in manifest.json. A resumed scan is still one scan (same
    # evidence, options and plugins: scan refuses anything else), so one action,
    # configured as the latest run recorded.
    action_ids = []
    if runs:
        latest_run = runs[-1]
        record = latest_run["record"] or {}
        command = str(latest_run["command"])
        action_id, _ = ids.object("InvestigativeAction", command)
        configured_id, _ = ids.object("ConfiguredTool", command)
        configuration_id, configuration_uuid = ids.object("Configuration", command)
        entries = []
        for index, (name, value) in enumerate(_configuration_entries(record)):
            entry_uuid, _ = _uuid5(configuration_uuid, f"{index}\x00{name}")
            entry_id = f"kb:ConfigurationEntry-{entry_uuid}"
            graph.add({"@id": entry_id, "@type": "uco-configuration:ConfigurationEntry",
                       "uco-configuration:itemName": name, "uco-configuration:itemValue": value})
            entries.append(_ref(entry_id))
        configuration: dict[str, Any] = {"@id": configuration_id, "@type": "uco-configuration:Configuration"}
        if entries:
            configuration["uco-configuration:configurationEntry"] = entries
        graph.add(configuration)
        graph.add({"@id": configured_id, "@type": "uco-tool:ConfiguredTool",
                   "uco-core:name": str(tool_info.get("name")),
                   "uco-configuration:isConfigurationOf": _ref(tool_id),
                   "uco-configuration:usesConfiguration": _ref(configuration_id)})
        action: dict[str, Any] = {
            "@id": action_id, "@type": "case-investigation:InvestigativeAction",
            "uco-core:name": command,
            "uco-action:actionStatus": "Complete/Finish" if latest_run.get("finished") else "Unknown",
            "uco-action:instrument": _ref(configured_id),
            "uco-action:object": [_ref(evidence_ids[item["id"]]) for item in evidence],
            "uco-action:result": provenance_ids,
        }
        if examiner_id:
            action["uco-action:performer"] = _ref(examiner_id)
        graph.add(action)
        action_ids.append(_ref(action_id))

    if action_ids:
        investigation_id, _ = ids.object("Investigation", str(case.get("case_number")))
        investigation: dict[str, Any] = {"@id": investigation_id, "@type": "case-investigation:Investigation",
                                         "uco-core:name": str(case.get("case_number") or "case"),
                                         "uco-core:object": action_ids}
        if case.get("agency"):
            investigation["uco-core:description"] = str(case["agency"])
        graph.add(investigation)
    return ids


def _add_generic_findings(store: CaseStore, graph: _Graph, ids: _Ids, evidence_ids: dict[str, str]) -> None:
    """The findings of the kinds with no mapping (see the module docstring),
    one node and one relationship at a time into the graph's external sort."""
    from .html import ROW_LIMIT      # the page's bound; html is heavy and the page is always written anyway

    for kind in finding_kinds.generic_kinds(store):
        for index, finding in enumerate(store.findings([kind])):
            if index >= ROW_LIMIT:
                break
            locator = finding["locator"]
            node_id, _ = ids.object("Finding", f"{kind}\x00{index}")
            descriptions = [f"{kind} found by plugin {finding['plugin']} {finding['plugin_version']} in {locator}"]
            data = finding["data"] if isinstance(finding["data"], dict) else {"value": finding["data"]}
            for key in list(data)[:finding_kinds.MAX_COLUMNS]:
                descriptions.append(f"{key}: {finding_kinds.cell_text(data[key])}")
            graph.add({"@id": node_id, "@type": "uco-observable:ObservableObject",
                       "uco-core:name": kind, "uco-core:description": descriptions})
            if store.db.execute("SELECT 1 FROM files WHERE locator = ?", (locator,)).fetchone():
                source_id = ids.object("File", locator)[0]
            elif finding["evidence_id"] in evidence_ids:
                source_id = evidence_ids[finding["evidence_id"]]
            else:
                continue
            rel_id, _ = ids.object("Relationship", f"extracted\x00{kind}\x00{index}")
            graph.add({"@id": rel_id, "@type": "uco-observable:ObservableRelationship",
                       "uco-core:source": [_ref(node_id)], "uco-core:target": _ref(source_id),
                       "uco-core:kindOfRelationship": "Extracted_From",
                       "uco-core:isDirectional": {"@type": "xsd:boolean", "@value": "true"}})


def _objects(store: CaseStore, ids: _Ids, evidence_id: str) -> Iterator[str]:
    """The provenance record of an evidence item lists the item, its host files
    and every file found in it, in the store's order."""
    yield ids.object("EvidenceItem", evidence_id)[0]
    for host in store.host_files(evidence_id):
        yield ids.object("File", "host\x00" + host["path"])[0]
    for locator in store.locators(evidence_id):
        yield ids.object("File", locator)[0]


def _add_file_nodes(graph: _Graph, row: dict[str, Any], node_id: str, node_uuid: bytes) -> None:
    """A file's node, its FileFacet and its ContentDataFacet (with hashes), as
    _compact writes the dicts {"@id", "@type", "uco-observable:fileName",
    "uco-observable:filePath", "uco-observable:sizeInBytes",
    "uco-observable:isDirectory", "uco-observable:allocationStatus",
    ["uco-observable:extension"], [times]} and {"@id", "@type",
    "uco-core:name", "uco-core:hasFacet", ["uco-core:description"]}."""
    name = row["name"]
    is_dir = row["kind"] == "dir"
    facet_id = _Ids.facet(node_uuid, "uco-observable:FileFacet")
    parts = [f'{{"@id":"{facet_id}","@type":"uco-observable:FileFacet","uco-observable:fileName":{_text(name)},'
             f'"uco-observable:filePath":{_text(row["path"])},'
             f'"uco-observable:sizeInBytes":{{"@type":"xsd:integer","@value":"{int(row["size"])}"}},'
             f'"uco-observable:isDirectory":{{"@type":"xsd:boolean","@value":"{"true" if is_dir else "false"}"}},'
             f'"uco-observable:allocationStatus":"{"allocated" if row["allocated"] else "unallocated"}"']
    stem, dot, extension = name.rpartition(".")
    if dot and stem and extension and not is_dir:
        parts.append(',"uco-observable:extension":' + _string(extension))
    times = row.get("times") or {}
    for key, prop in _TIME_PROPS:
        value = times.get(key) or times.get(key + "_local")
        if isinstance(value, str) and value:
            parts.append(f',"{prop}":{{"@type":"xsd:dateTime","@value":{_string(value)}}}')
    graph.add_text(facet_id, "".join(parts) + "}")
    facets = [facet_id]
    content_id = _content_facet(graph, node_uuid, row, None if is_dir else row["size"], row.get("mime"))
    if content_id:
        facets.append(content_id)
    node = (f'{{"@id":"{node_id}","@type":"uco-observable:File","uco-core:name":{_text(row["locator"])},'
            f'"uco-core:hasFacet":{_refs(facets)}')
    if row.get("notes"):
        node += ',"uco-core:description":' + _text("; ".join(str(n) for n in row["notes"]))
    graph.add_text(node_id, node + "}")


def write_case_jsonld(store: CaseStore, case_dir: str | Path, kb_base: str = DEFAULT_KB) -> Path:
    """Write CASE_DIR/case.jsonld from the case store and return its path."""
    target = Path(case_dir) / CASE_JSONLD
    graph = _Graph()
    try:
        ids = _add_nodes(store, graph)
        context = dict(CONTEXT, kb=kb_base)
        with atomic_writer(target) as stream:
            # What json.dumps of {"@context": ..., "@graph": [...]} gives, a node at a time.
            stream.write('{"@context":' + _compact(dict(sorted(context.items()))) + ',"@graph":[')
            for index, (text, objects_of) in enumerate(graph.in_order()):
                stream.write("," + text if index else text)
                if objects_of is not None:
                    for number, object_id in enumerate(_objects(store, ids, objects_of)):
                        stream.write(("," if number else "[") + _compact(_ref(object_id)))
                    stream.write("]}")
            stream.write("]}\n")
    finally:
        graph.close()
    return target
