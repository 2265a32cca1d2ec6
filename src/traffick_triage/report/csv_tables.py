"""CASE_DIR/csv/: one CSV per table of the case store, for spreadsheets.

Files: ``evidence.csv``, ``files.csv``, ``warnings.csv`` (always, header-only
when empty) and one file per finding kind present in the case:
``contacts.csv`` (comms.contact), ``calls.csv`` (comms.call), ``messages.csv``
(comms.message), ``identifiers.csv``, ``keywords.csv``,
``hashset_matches.csv``, ``perceptual_matches.csv``, ``exif_gps.csv``,
``exif_metadata.csv``, ``media.csv``; any other kind ``<kind>.csv`` with
non-alphanumerics turned into "_". A finding table has the columns
evidence_id, locator, plugin, plugin_version, then every key of the findings'
data in sorted order. ``providers.csv`` holds report.json's "providers" rows
(identifiers per provider), its sources as "evidence_id: locator (plugin,
records)" joined with "; ". CSV files left in csv/ by an earlier render that this
render does not write are removed, so the folder always matches the store.

Encoding: UTF-8 with a byte-order mark (Excel otherwise opens UTF-8 as the
local ANSI code page and Arabic turns into mojibake), RFC 4180 quoting, CRLF
line ends. Lists are joined with "; ", objects written as compact JSON,
booleans as true/false, missing values as empty cells. Characters that cannot
be encoded (lone surrogates from undecodable file names) are written as the
visible escape ``\\udcXX``.

Formula injection (CSV injection) is neutralised: a cell whose text starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a
single quote ``'``, so Excel/LibreOffice show it as text instead of evaluating
it (OWASP's recommendation). The cost is visible and deliberate: a phone
number "+96551234567" appears as "'+96551234567" in the raw CSV (Excel hides
the quote and shows the number as text). A reader that wants the original
value strips one leading "'" from cells whose second character is one of
those six. The JSON report and the case store keep the untouched values.

Output is deterministic: rows in the store's order, columns sorted, nothing
from the time of writing.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..atomic import atomic_writer
from ..store import CaseStore, dumps
from .providers import provider_rows

CSV_DIR = "csv"
BOM = "\ufeff"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

KIND_FILES = {
    "comms.contact": "contacts.csv",
    "comms.call": "calls.csv",
    "comms.message": "messages.csv",
    "identifier": "identifiers.csv",
    "keyword": "keywords.csv",
    "hashset.match": "hashset_matches.csv",
    "perceptual.match": "perceptual_matches.csv",
    "exif.gps": "exif_gps.csv",
    "exif.metadata": "exif_metadata.csv",
    "media.metadata": "media.csv",
}
FINDING_BASE = ["evidence_id", "locator", "plugin", "plugin_version"]
FILE_COLUMNS = ["evidence_id", "locator", "path", "name", "kind", "size", "allocated", "inode",
                "md5", "sha1", "sha256", "mime", "extension_mismatch", "suspicious_name",
                "modified", "accessed", "changed", "created",
                "modified_local", "accessed_local", "changed_local", "created_local", "timezone",
                "link_target", "notes", "route"]
EVIDENCE_COLUMNS = ["id", "ordinal", "name", "kind", "path", "md5", "sha1", "sha256", "size",
                    "stored_md5", "stored_sha1", "verification", "complete", "host_files", "description"]
WARNING_COLUMNS = ["evidence_id", "locator", "source", "message"]
PROVIDER_COLUMNS = ["provider", "type", "value", "role", "records", "first_seen", "last_seen", "sources_total",
                    "sources"]
PROVIDERS_FILE = "providers.csv"
# The store's columns behind FILE_COLUMNS (the others come from "times").
_FILE_STORE_COLUMNS = ("evidence_id", "locator", "path", "name", "kind", "size", "allocated", "inode", "md5", "sha1",
                       "sha256", "mime", "extension_mismatch", "suspicious_name", "link_target", "notes", "times",
                       "route")
_SURROGATE = re.compile("[\ud800-\udfff]")
# What makes csv.writer (QUOTE_MINIMAL) quote a cell: the delimiter, the quote, a line end.
_QUOTED_IF = (",", '"', "\r", "\n")
WRITE_EVERY = 1 << 16       # characters of rows gathered before they are written out


def kind_file(kind: str) -> str:
    return KIND_FILES.get(kind) or re.sub(r"[^A-Za-z0-9]+", "_", kind).strip("_").lower() + ".csv"


def cell(value: Any) -> str:
    """One CSV cell: flattened, encodable, formula-neutralised."""
    if isinstance(value, str):
        text = value
    elif value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        text = "; ".join(v if isinstance(v, str) else dumps(v) for v in value)
    elif isinstance(value, dict):
        text = dumps(value)
    else:
        text = str(value)
    text = _visible(text)
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return text


def _visible(text: str) -> str:
    """Lone surrogates (undecodable names) as the escape \\udcXX."""
    return text if text.isascii() else _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


class _HostPaths:
    """The host_files cell of evidence.csv: the paths of an item's host files,
    joined with "; ". A folder's are every file in it, so the cell is read from
    the store and written in pieces, exactly as cell() and csv.writer would
    write it whole: a first pass learns its first character and whether it
    needs quotes."""

    def __init__(self, store: CaseStore, evidence_id: str) -> None:
        self.store, self.evidence_id = store, evidence_id

    def _texts(self) -> Iterator[str]:
        for index, host in enumerate(self.store.host_files(self.evidence_id)):
            path = host.get("path")
            yield ("; " if index else "") + _visible(path if isinstance(path, str) else dumps(path))

    def csv_pieces(self) -> Iterator[str]:
        first, quoted = "", False
        for text in self._texts():
            first = first or text[:1]
            quoted = quoted or any(char in text for char in _QUOTED_IF)
        if quoted:
            yield '"'
        if first.startswith(FORMULA_PREFIXES):
            yield "'"
        for text in self._texts():
            yield text.replace('"', '""') if quoted else text
        if quoted:
            yield '"'


def _line_around(row: list[Any], at: int) -> tuple[str, str]:
    """The CSV line of ``row`` before and after its cell ``at``: csv.writer
    quotes each cell on its own, so a cell "x" (never quoted) holds the place."""
    before, after = io.StringIO(), io.StringIO()
    csv.writer(before, lineterminator="\r\n").writerow([cell(v) for v in row[:at]] + ["x"])
    csv.writer(after, lineterminator="\r\n").writerow(["x"] + [cell(v) for v in row[at + 1:]])
    return before.getvalue()[:-len("x\r\n")], after.getvalue()[1:]


def _write(path: Path, header: list[str], rows: Iterable[list[Any]]) -> Path:
    with atomic_writer(path) as stream:
        stream.write(BOM)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([cell(h) for h in header])
        for row in rows:
            long_cells = [index for index, value in enumerate(row) if isinstance(value, _HostPaths)]
            if long_cells:
                stream.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
                before, after = _line_around(row, long_cells[0])
                stream.write(before)
                stream.writelines(row[long_cells[0]].csv_pieces())
                stream.write(after)
                continue
            writer.writerow([cell(v) for v in row])
            if buffer.tell() > WRITE_EVERY:
                stream.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
        stream.write(buffer.getvalue())
    return path


def write_csv_tables(store: CaseStore, case_dir: str | Path) -> list[Path]:
    """Write CASE_DIR/csv/*.csv and return their paths (sorted)."""
    out_dir = Path(case_dir) / CSV_DIR
    out_dir.mkdir(exist_ok=True)
    written: list[Path] = []

    evidence_rows = []
    for item in store.evidence_items():
        hashes, stored = item.get("hashes") or {}, item.get("stored_hashes") or {}
        evidence_rows.append([item["id"], item["ordinal"], item["name"], item["kind"], item["path"],
                              hashes.get("md5"), hashes.get("sha1"), hashes.get("sha256"), hashes.get("size"),
                              stored.get("md5"), stored.get("sha1"), item.get("verification"), item["complete"],
                              _HostPaths(store, item["id"]), item.get("description")])
    written.append(_write(out_dir / "evidence.csv", EVIDENCE_COLUMNS, evidence_rows))

    def file_rows() -> Iterable[list[Any]]:
        for row in store.file_rows(_FILE_STORE_COLUMNS):
            times = row.get("times") or {}
            merged = {**row, **{k: v for k, v in times.items()}}
            yield [merged.get(c) for c in FILE_COLUMNS]

    written.append(_write(out_dir / "files.csv", FILE_COLUMNS, file_rows()))
    written.append(_write(out_dir / "warnings.csv", WARNING_COLUMNS,
                          ([w.get(c) for c in WARNING_COLUMNS] for w in store.warnings())))

    # Findings: first pass for each kind's columns, second pass to write.
    columns: dict[str, set[str]] = {}
    for finding in store.findings():
        columns.setdefault(finding["kind"], set()).update(finding["data"].keys())
    by_file: dict[str, list[str]] = {}
    for kind in columns:
        by_file.setdefault(kind_file(kind), []).append(kind)
    for name, kinds in sorted(by_file.items()):
        keys = sorted(set().union(*(columns[k] for k in kinds)) - set(FINDING_BASE))
        header = FINDING_BASE + (["finding_kind"] if len(kinds) > 1 else []) + keys
        kind_set = set(kinds)

        def finding_rows(kind_set: set[str] = kind_set, keys: list[str] = keys,
                         multi: bool = len(kinds) > 1) -> Iterable[list[Any]]:
            for finding in store.findings(kind_set):
                base = [finding[c] for c in FINDING_BASE] + ([finding["kind"]] if multi else [])
                yield base + [finding["data"].get(k) for k in keys]

        written.append(_write(out_dir / name, header, finding_rows()))

    if PROVIDERS_FILE not in {p.name for p in written}:      # a kind named "providers" keeps its own file
        written.append(_write(out_dir / PROVIDERS_FILE, PROVIDER_COLUMNS, _provider_lines(store)))

    keep = {p.name for p in written}
    for stale in out_dir.glob("*.csv"):
        if stale.name not in keep:
            stale.unlink()
    return sorted(written)


def _provider_lines(store: CaseStore) -> Iterator[list[Any]]:
    for row in provider_rows(store):
        sources = [f"{s['evidence_id']}: {s['locator']} ({s['plugin']}, {s['records']})" for s in row["sources"]]
        yield [row[c] for c in PROVIDER_COLUMNS[:-1]] + [sources]
