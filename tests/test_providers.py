"""Identifiers per provider (issue 18): report.json's ``providers``, the
page's section and csv/providers.csv.

* The real device trees (shared/corpus/devices, WhatsApp plugins only): the
  WhatsApp identifiers equal a plain sqlite3 query of the JIDs and numbers in
  wa.db, msgstore.db, ContactsV2.sqlite, ChatStorage.sqlite and
  CallHistory.sqlite (phone numbers normalised by the phonenumbers library,
  not by our code); the owner's own JID is the one sqlite3 finds in
  ZTOJID of received rows, and nothing else is the owner's; two scans give
  byte-identical report.json, report.html and providers.csv.
* A third-party --plugin-dir plugin whose finding kind the report has never
  heard of, with ``source_app`` and ``email``/``username``/``wallet``
  fields, is grouped under its provider, the e-mail also under its domain,
  the wallet under its network, the owner flag kept; a text file under an
  app's folder puts the scanner's phone number under that app.
* Hostile values: 100,000 identifiers, HTML and bidi controls in values and
  provider names, 210 providers: the page is bounded (rows per provider,
  providers) and escaped, report.json holds every row."""

from __future__ import annotations

import csv
import html
import sqlite3
from pathlib import Path

import phonenumbers
import pytest

from evidence_builders import load_report, scan

ANDROID_WA = "data/data/com.whatsapp/databases"
IOS_WA = "private/var/mobile/Containers/Shared/AppGroup/694FBBC5-2E69-480A-A25B-FF8CC038BEF8"
WHATSAPP = "WhatsApp (Meta)"
WA_PLUGINS = ("whatsapp_android_contacts", "whatsapp_android_msgstore", "whatsapp_ios_contacts",
              "whatsapp_ios_chatstorage", "whatsapp_ios_callhistory")


def _values(path: Path, sql: str) -> set[str]:
    """Non-empty text values of one sqlite3 query (read-only, the file untouched)."""
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        rows = db.execute(sql).fetchall()
    db.close()
    return {str(row[0]).strip() for row in rows if row[0] is not None and str(row[0]).strip()}


def _phone(raw: str) -> str:
    """A number as the phonenumbers library writes it (E.164 when valid), else as found."""
    text = " ".join(raw.split())
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) \
        if phonenumbers.is_valid_number(number) else text


def _section(page: str) -> str:
    section = page[page.index('<section id="providers">'):]
    return section[:section.index("</section>")]


def _jid_type(jid: str) -> str:
    return "group_id" if jid.endswith("@g.us") else "jid"


@pytest.fixture(scope="module")
def devices(corpus, tmp_path_factory):
    root = corpus / "devices"
    evidence = [root / "android_fs_legacy", root / "ios_fs_josh15"]
    cases = []
    for run in ("one", "two"):
        case = tmp_path_factory.mktemp("providers") / run
        options = [option for plugin in WA_PLUGINS for option in ("--only", plugin)]
        scan(evidence, case, *options, expect_exit=0)
        cases.append(case)
    return root, cases


def test_whatsapp_identifiers_equal_sqlite(devices):
    root, (case, _again) = devices
    android, ios = root / "android_fs_legacy" / ANDROID_WA, root / "ios_fs_josh15" / IOS_WA
    jids = (_values(android / "wa.db", "SELECT jid FROM wa_contacts")
            | _values(android / "msgstore.db", "SELECT key_remote_jid FROM messages WHERE key_remote_jid != '-1'")
            | _values(android / "msgstore.db", "SELECT remote_resource FROM messages")
            | _values(ios / "ContactsV2.sqlite", "SELECT ZWHATSAPPID FROM ZWAADDRESSBOOKCONTACT")
            | _values(ios / "ChatStorage.sqlite", "SELECT ZFROMJID FROM ZWAMESSAGE UNION SELECT ZTOJID FROM ZWAMESSAGE")
            | _values(ios / "CallHistory.sqlite", "SELECT ZJIDSTRING FROM ZWACDCALLEVENTPARTICIPANT"))
    jids = {jid.lower() for jid in jids if not jid.endswith("@broadcast")}   # status@broadcast is no account
    numbers = (_values(android / "wa.db", "SELECT number FROM wa_contacts")
               | _values(ios / "ContactsV2.sqlite", "SELECT ZPHONENUMBER FROM ZWAADDRESSBOOKCONTACT"))
    expected = {(_jid_type(jid), jid) for jid in jids} | {("phone", _phone(number)) for number in numbers}

    rows = [row for row in load_report(case)["providers"] if row["provider"] == WHATSAPP]
    assert {(row["type"], row["value"]) for row in rows} == expected
    assert len(rows) == len(expected)                     # deduplicated
    assert {row["provider"] for row in load_report(case)["providers"]} == {WHATSAPP}
    assert [(r["provider"], r["type"], r["value"]) for r in rows] == sorted(
        (r["provider"], r["type"], r["value"]) for r in rows)


def test_owner_is_marked_where_the_data_says_so(devices):
    root, (case, _again) = devices
    ios = root / "ios_fs_josh15" / IOS_WA
    owner = _values(ios / "ChatStorage.sqlite",
                    "SELECT ZTOJID FROM ZWAMESSAGE WHERE ZISFROMME = 0 AND ZTOJID LIKE '%@s.whatsapp.net'")
    assert owner
    rows = load_report(case)["providers"]
    assert {row["value"] for row in rows if row["role"] == "owner"} == {jid.lower() for jid in owner}
    assert {row["role"] for row in rows} == {"owner", "correspondent"}
    # A JID named by many messages: records and first/last seen from them.
    busy = max(rows, key=lambda row: row["records"])
    assert busy["records"] > 1 and busy["first_seen"] <= busy["last_seen"]
    section = _section((case / "report.html").read_text(encoding="utf-8"))
    owner_jid = next(iter(owner)).lower()
    assert f'<tr class="shared"><td><bdi dir="ltr">jid</bdi></td><td><bdi dir="ltr">{owner_jid}</bdi>' in section


def test_outputs_byte_identical_across_runs(devices):
    _root, (one, two) = devices
    for name in ("report.json", "csv/providers.csv"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    # The page names the run (times, command line, case folder); its providers section is identical.
    sections = [_section((case / "report.html").read_text(encoding="utf-8")) for case in (one, two)]
    assert sections[0] == sections[1] and "<tr" in sections[0]
    with open(one / "csv" / "providers.csv", encoding="utf-8-sig", newline="") as stream:
        table = list(csv.DictReader(stream))
    report = load_report(one)["providers"]
    assert [(r["provider"], r["type"], r["value"].lstrip("'")) for r in table] == [
        (r["provider"], r["type"], r["value"]) for r in report]


THIRD_PARTY = '''
from dataclasses import dataclass
from typing import ClassVar
from traffick_triage.plugin_api import Finding, Plugin, Selector


@dataclass(frozen=True)
class Signup(Finding):
    KIND: ClassVar[str] = "thirdparty.signup"
    source_app: str
    email: str | None
    username: str | None
    wallet: str | None
    owner: bool
    signed_up: str | None


class ThirdParty(Plugin):
    NAME = "thirdparty"
    VERSION = "0.1"
    DESCRIPTION = "a plugin the report has never heard of"
    SELECTOR = Selector(globs=("*.signup",))

    def extract(self, file, ctx):
        for line in file.read().decode().splitlines():
            app, email, username, wallet, owner, when = line.split("|")
            yield Signup(source_app=app, email=email or None, username=username or None,
                         wallet=wallet or None, owner=owner == "yes", signed_up=when or None)
'''
SIGNUPS = [
    "Snapchat|Some.One@Example.org|snap_user||yes|2024-03-01T10:00:00+02:00",
    "Obscure Chat||obscure_1|1BoatSLRHtKNngkdXEeobR76b53LETtpyT|no|",
]


@pytest.fixture(scope="module")
def third_party(tmp_path_factory):
    base = tmp_path_factory.mktemp("thirdparty")
    plugins = base / "plugins"
    plugins.mkdir()
    (plugins / "thirdparty.py").write_text(THIRD_PARTY)
    evidence = base / "evidence"
    (evidence / "data" / "data" / "org.telegram.messenger" / "files").mkdir(parents=True)
    (evidence / "accounts.signup").write_text("\n".join(SIGNUPS) + "\n")
    (evidence / "data" / "data" / "org.telegram.messenger" / "files" / "note.txt").write_text(
        "call me on +96551234567\n")
    case = base / "case"
    scan([evidence], case, "--plugin-dir", str(plugins), "--only", "thirdparty", "--only", "identifiers")
    return load_report(case)["providers"]


def test_unknown_kind_reaches_its_provider(third_party):
    rows = {(r["provider"], r["type"], r["value"]): r for r in third_party}
    snap = rows[("Snapchat", "email", "some.one@example.org")]
    assert snap["role"] == "owner" and snap["sources"][0]["plugin"] == "thirdparty"
    assert snap["first_seen"] == "2024-03-01T08:00:00+00:00"
    assert rows[("Snapchat", "username", "snap_user")]["role"] == "owner"
    assert rows[("E-mail: example.org", "email", "some.one@example.org")]["role"] == "owner"
    assert rows[("Obscure Chat", "username", "obscure_1")]["role"] == "correspondent"
    assert rows[("Bitcoin network", "wallet", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")]["role"] == "correspondent"
    telegram = rows[("Telegram", "phone", "+96551234567")]
    assert telegram["role"] == "mentioned" and telegram["sources"][0]["plugin"] == "identifiers"


HOSTILE = '''
from dataclasses import dataclass
from typing import ClassVar
from traffick_triage.plugin_api import Finding, Plugin, Selector


@dataclass(frozen=True)
class Crowd(Finding):
    KIND: ClassVar[str] = "hostile.crowd"
    source_app: str
    recipients: tuple
    handle: str


class Hostile(Plugin):
    NAME = "hostile"
    VERSION = "0.1"
    DESCRIPTION = "many and hostile identifiers"
    SELECTOR = Selector(globs=("*.crowd",))

    def extract(self, file, ctx):
        for batch in range(100):
            yield Crowd(source_app="<b>Crowd</b>\\u202e", handle="<script>alert(1)</script>\\u202egnp.exe",
                        recipients=tuple(f"u{batch:03d}-{n:04d}<i>" for n in range(1000)))
        for app in range(210):
            yield Crowd(source_app=f"App {app:03d}", recipients=(), handle=f"h{app}")
'''


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    plugins = base / "plugins"
    plugins.mkdir()
    (plugins / "hostile.py").write_text(HOSTILE)
    evidence = base / "evidence"
    evidence.mkdir()
    (evidence / "x.crowd").write_text("x")
    case = base / "case"
    scan([evidence], case, "--plugin-dir", str(plugins), "--only", "hostile", expect_exit=0)
    return case


def test_hostile_values_bounded_and_escaped(hostile):
    from traffick_triage.report.html_providers import PROVIDER_LIMIT, ROWS_PER_PROVIDER

    rows = load_report(hostile)["providers"]
    crowd = [r for r in rows if r["provider"] == "<b>Crowd</b>\u202e"]
    assert len(crowd) == 100 * 1000 + 1
    assert len({r["provider"] for r in rows}) == 211
    section = _section((hostile / "report.html").read_text(encoding="utf-8"))
    assert "<script>" not in section and "<b>" not in section and "<i>" not in section
    assert html.escape("<script>alert(1)</script>", quote=False) in section
    assert "\u202e" in section
    # every hostile value sits inside its own isolate
    for line in section.splitlines():
        if "\u202e" in line:
            assert line.count("\u202e") <= line.count("<bdi dir=")
    assert section.count("<h3 ") == PROVIDER_LIMIT
    assert f"{100 * 1000 + 1 - ROWS_PER_PROVIDER} more in report.json" in section
    assert f"{211 - PROVIDER_LIMIT} more providers in report.json" in section
    assert section.count("<tr") <= PROVIDER_LIMIT * (ROWS_PER_PROVIDER + 1)


def _mentions(kind: str, data: dict, locator: str = "E1 > x.db") -> set[tuple[str, str, str, str]]:
    from traffick_triage.report.providers import finding_mentions

    finding = {"evidence_id": "E1", "locator": locator, "plugin": "p", "kind": kind, "data": data}
    return {(m.provider, m.id_type, m.value, m.role) for m in finding_mentions(finding, None)}


def test_fields_decide_provider_type_and_role():
    # iMessage through the owner's Apple ID: the account is the owner's, under Apple and its domain's provider.
    assert _mentions("comms.message", {"app": "iOS Messages", "service": "iMessage", "sender": "+1 919 555 0100",
                                       "recipients": [], "account": "E:Me@iCloud.com"}) == {
        ("Apple", "phone", "+19195550100", "correspondent"), ("Apple", "email", "me@icloud.com", "owner")}
    # SMS: phone numbers are the mobile network's; an address-book sync account is the owner's.
    assert _mentions("comms.contact", {"source_app": "Android Contacts", "phone_numbers": ["+965 5123 4567"],
                                       "emails": ["x@gmail.com"], "account": "owner@gmail.com"}) == {
        ("Mobile network (phone numbers)", "phone", "+96551234567", "correspondent"),
        ("Google", "email", "x@gmail.com", "correspondent"), ("Google", "email", "owner@gmail.com", "owner")}
    # An app's numeric user id (Discord: 18 digits) is no phone number; an accounts-database row is the owner's.
    assert _mentions("comms.message", {"app": "Discord", "sender": "123456789012345678", "recipients": []}) == {
        ("Discord", "handle", "123456789012345678", "correspondent")}
    assert _mentions("device.account", {"source_app": "iOS Accounts", "account_type": "Gmail",
                                        "provider": "com.google", "username": "a.b@gmail.com",
                                        "identifier": "UUID-1"}) == {
        ("Google", "email", "a.b@gmail.com", "owner"), ("Google", "user_id", "UUID-1", "owner")}
    # No app named: the path table decides; nothing known: unattributed, never dropped.
    assert _mentions("x.y", {"jid": "1@S.WhatsApp.net"}) == {("WhatsApp (Meta)", "jid", "1@s.whatsapp.net",
                                                                "correspondent")}
    assert _mentions("x.y", {"user_id": "u1"}, "E1 > data/data/com.viber.voip/files/x") == {
        ("Viber", "user_id", "u1", "correspondent")}
    assert _mentions("x.y", {"user_id": "u1"}) == {("Unattributed", "user_id", "u1", "correspondent")}


def test_short_codes_and_file_names():
    # An SMS short code is the mobile network's; "icon@2x.png" in an app's files is a file name, not an address.
    assert _mentions("comms.message", {"app": "iOS Messages", "service": "SMS", "sender": "40404",
                                       "recipients": []}) == {
        ("Mobile network (phone numbers)", "handle", "40404", "correspondent")}
    assert _mentions("identifier", {"kind": "email", "value": "nearby_scan@2x.png", "context": "x"}) == set()
