"""Issue 18 item 2: a finding kind the report has never heard of (here a
one-file plugin in a --plugin-dir) reaches every output: report.json, the
page (a generic section from the finding's fields, escaped and bounded), the
timeline (the events it yields, or else its timestamped fields) and the CSV
tables. Kinds the page has a section for keep it (the demo case's page is
byte-identical with and without this code: see the commit)."""

from __future__ import annotations

import csv
import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evidence_builders import load_report, scan
from traffick_triage.report import finding_kinds

PLUGIN = '''
from dataclasses import dataclass
from typing import ClassVar
from traffick_triage.plugin_api import Finding, Plugin, Selector, TimelineEvent


@dataclass(frozen=True)
class BurnerAccount(Finding):
    KIND: ClassVar[str] = "newcomer.burner_account"
    handle: str
    phone: str
    created_utc: str
    last_seen: str
    blob: dict


@dataclass(frozen=True)
class LedgerLine(Finding):
    KIND: ClassVar[str] = "newcomer.ledger"
    amount: int
    note: str
    paid_utc: str

    def timeline_events(self):
        return (TimelineEvent(datetime=self.paid_utc, timestamp_desc="Payment", message=f"paid {self.amount}"),)


class Newcomer(Plugin):
    NAME = "newcomer"
    VERSION = "0.0.1"
    DESCRIPTION = "a newcomer's plugin: one file, two finding kinds"
    SELECTOR = Selector(globs=("*.acct",))

    def extract(self, file, ctx):
        for line in file.read().decode().splitlines():
            handle, phone, created, seen, amount = line.split("|")
            yield BurnerAccount(handle=handle, phone=phone, created_utc=created, last_seen=seen,
                                blob={"deep": [1, 2, {"x": "y"}], "long": "z" * 1000})
            yield LedgerLine(amount=int(amount), note="=HYPERLINK(\\"http://x\\")", paid_utc=created)
'''

LINES = [
    "<script>alert(1)</script>|+96551234567|2024-05-01T10:11:12+00:00|2024-05-02T03:04:05+03:00|40",
    "ghost&co|+96550000000|2024-06-01T00:00:00+00:00|not a time|15",
]


def _scan(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "newcomer.py").write_text(PLUGIN)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "phone.acct").write_text("\n".join(LINES) + "\n")
    case = tmp_path / "case"
    scan([evidence], case, "--plugin-dir", str(plugins), "--only", "newcomer", expect_exit=0)
    return case


def test_a_new_plugins_findings_reach_every_output(tmp_path):
    case = _scan(tmp_path)
    report = load_report(case)
    kinds = sorted(f["kind"] for f in report["findings"])
    assert kinds == ["newcomer.burner_account"] * 2 + ["newcomer.ledger"] * 2

    page = (case / "report.html").read_text(encoding="utf-8")
    assert '<section id="other-findings">' in page and 'href="#other-findings"' in page
    section = page[page.index('<section id="other-findings">'):].split("</section>", 1)[0]
    assert 'id="kind-newcomer-burner-account"' in section and 'id="kind-newcomer-ledger"' in section
    for field in ("handle", "phone", "created_utc", "last_seen", "blob", "amount", "note", "paid_utc"):
        assert f">{field}</th>" in section
    # Escaped, never markup; long values cut.
    assert "<script>alert(1)</script>" not in page
    assert html.escape("<script>alert(1)</script>", quote=False) in section
    assert "ghost&amp;co" in section
    assert "z" * finding_kinds.MAX_CELL not in section and "\u2026" in section
    assert "+96551234567" in section

    events = [json.loads(line) for line in (case / "timeline.jsonl").read_text(encoding="utf-8").splitlines()]
    ours = sorted((e["datetime"], e["timestamp_desc"]) for e in events if e["source"].startswith("newcomer:"))
    assert ours == sorted([
        ("2024-05-01T10:11:12+00:00", "newcomer.burner_account created_utc"),
        ("2024-05-02T00:04:05+00:00", "newcomer.burner_account last_seen"),   # +03:00 in UTC, as found kept
        ("2024-06-01T00:00:00+00:00", "newcomer.burner_account created_utc"),
        ("2024-05-01T10:11:12+00:00", "Payment"),     # the plugin's own event, no field event beside it
        ("2024-06-01T00:00:00+00:00", "Payment"),
    ])
    [shifted] = [e for e in events if e["timestamp_desc"].endswith("last_seen")]
    assert shifted["time_as_found"] == "2024-05-02T03:04:05+03:00"
    with open(case / "timeline.csv", newline="", encoding="utf-8") as stream:
        assert sum(1 for row in csv.DictReader(stream) if row["source"].startswith("newcomer:")) == 5
    assert "newcomer.burner_account created_utc" in page       # the page's timeline too

    with open(case / "csv" / "newcomer_burner_account.csv", newline="", encoding="utf-8-sig") as stream:
        rows = list(csv.DictReader(stream))
    assert [r["handle"] for r in rows] == ["<script>alert(1)</script>", "ghost&co"]
    with open(case / "csv" / "newcomer_ledger.csv", newline="", encoding="utf-8-sig") as stream:
        ledger = list(csv.DictReader(stream))
    assert sorted(r["amount"] for r in ledger) == ["15", "40"]
    assert all(r["note"].startswith("'=") for r in ledger)      # formula neutralised


def test_generic_tables_are_bounded(tmp_path, monkeypatch):
    from traffick_triage.report.html import render_html
    from traffick_triage.store import CaseStore

    case = _scan(tmp_path)
    monkeypatch.setattr(finding_kinds, "MAX_COLUMNS", 2)
    store = CaseStore(case, readonly=True)
    try:
        import traffick_triage.report.html as report_html

        monkeypatch.setattr(report_html, "ROW_LIMIT", 1)
        page = render_html(store, case)
    finally:
        store.close()
    section = page[page.index('<section id="other-findings">'):].split("</section>", 1)[0]
    table = section[section.index('id="t-kind-newcomer-burner-account"'):].split("</table>", 1)[0]
    assert table.count("<tr>") == 2                          # the header and one row
    assert "Showing the first 1 of 2 rows" in section
    assert "3 more fields are in the case" in section


def test_known_kinds_get_no_generic_section():
    assert "comms.message" in finding_kinds.KNOWN_KINDS and "perceptual.hash" in finding_kinds.KNOWN_KINDS
    assert finding_kinds.anchor("A.b/../<x>") == "kind-a-b-x"


def _case_validate() -> str:
    pytest.importorskip("case_utils", reason="case-utils (the 'case' extra) provides case_validate")
    beside = Path(sys.executable).parent / "case_validate"
    return str(beside) if beside.exists() else (shutil.which("case_validate") or "case_validate")


def test_a_new_plugins_findings_reach_case_jsonld(tmp_path):
    case = _scan(tmp_path)
    graph = json.loads((case / "case.jsonld").read_text(encoding="utf-8"))["@graph"]
    by_id = {node["@id"]: node for node in graph}
    ours = [n for n in graph if n.get("uco-core:name", "").startswith("newcomer.")]
    assert sorted(n["uco-core:name"] for n in ours) == ["newcomer.burner_account"] * 2 + ["newcomer.ledger"] * 2
    assert all(n["@type"] == "uco-observable:ObservableObject" for n in ours)
    [file_node] = [n for n in graph if n["@type"] == "uco-observable:File"
                   and n.get("uco-core:name", "").endswith("phone.acct")]
    for node in ours:
        first, *fields = node["uco-core:description"]
        assert first == f"{node['uco-core:name']} found by plugin newcomer 0.0.1 in {file_node['uco-core:name']}"
        [link] = [n for n in graph if n["@type"] == "uco-observable:ObservableRelationship"
                  and n["uco-core:source"] == [{"@id": node["@id"]}]]
        assert link["uco-core:kindOfRelationship"] == "Extracted_From"
        assert by_id[link["uco-core:target"]["@id"]] is file_node
    accounts = sorted((n["uco-core:description"][1:] for n in ours if n["uco-core:name"] == "newcomer.burner_account"),
                      key=lambda lines: "handle: ghost&co" in lines)
    assert {"handle: <script>alert(1)</script>", "phone: +96551234567", "created_utc: 2024-05-01T10:11:12+00:00",
            "last_seen: 2024-05-02T03:04:05+03:00"} < set(accounts[0])
    assert "handle: ghost&co" in accounts[1]
    [blob] = [line for line in accounts[0] if line.startswith("blob: ")]   # one line of JSON, cut like a page cell
    assert blob.startswith('blob: {"deep":[1,2,{"x":"y"}]') and blob.endswith("\u2026")
    assert len(blob) == len("blob: ") + finding_kinds.MAX_CELL
    assert len(accounts[0]) == len(accounts[1]) == 5
    ledgers = sorted(n["uco-core:description"][1:] for n in ours if n["uco-core:name"] == "newcomer.ledger")
    assert sorted(line for lines in ledgers for line in lines if line.startswith("amount")) == ["amount: 15", "amount: 40"]

    run = subprocess.run([_case_validate(), str(case / "case.jsonld")], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Conforms: True" in run.stdout


def test_case_jsonld_findings_are_bounded(tmp_path, monkeypatch):
    from traffick_triage.report import case_uco, html as report_html
    from traffick_triage.store import CaseStore

    case = _scan(tmp_path)
    monkeypatch.setattr(finding_kinds, "MAX_COLUMNS", 2)
    monkeypatch.setattr(report_html, "ROW_LIMIT", 1)
    store = CaseStore(case, readonly=True)
    try:
        path = case_uco.write_case_jsonld(store, tmp_path)
    finally:
        store.close()
    graph = json.loads(path.read_text(encoding="utf-8"))["@graph"]
    ours = [n for n in graph if n.get("uco-core:name", "").startswith("newcomer.")]
    assert sorted(n["uco-core:name"] for n in ours) == ["newcomer.burner_account", "newcomer.ledger"]
    assert all(len(n["uco-core:description"]) == 1 + 2 for n in ours)
