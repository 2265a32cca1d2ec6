"""vCard plugin: 2.1 quoted-printable, 3.0 and 4.0 cards, Arabic names, broken cards."""

from __future__ import annotations

import quopri

from comms_testlib import run_untouched
from traffick_triage.plugin_host import bytes_file_view, run_plugin
from traffick_triage.plugins._comms import Contact
from traffick_triage.plugins.vcard import VCardPlugin


def qp(text: str) -> str:
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


# 2.1 with quoted-printable UTF-8, including a "=" soft line break inside FN.
FN_QP = qp("محمد العلي")
CARD_21 = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{qp('العلي')};{qp('محمد')};;;\r\n"
    f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{FN_QP[:18]}=\r\n{FN_QP[18:]}\r\n"
    "TEL;CELL;PREF:+965 5555 0101\r\nTEL;HOME:2222-0101\r\nEMAIL;INTERNET:m.ali@example.org\r\n"
    "END:VCARD\r\n")
CARD_30 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;Jane;;;\r\nFN:Jane Doe\r\nORG:Example Trading Co;Sales\r\n"
    "TEL;TYPE=CELL,VOICE:(555) 0100\r\nEMAIL;TYPE=INTERNET:jane@example.org\r\n"
    "UID:urn:uuid:5e7a9f44-0000-4000-8000-000000000030\r\nREV:2024-01-02T03:04:05Z\r\nEND:VCARD\r\n")
CARD_40 = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:فاطمة الزهراء\r\nN:الزهراء;فاطمة;;;\r\n"
    "TEL;VALUE=uri;TYPE=\"cell,voice\":tel:+965-5555-0202\r\n"
    "EMAIL:fatima@example.org\r\nREV:20240102T030405+0300\r\nEND:VCARD\r\n")
BROKEN = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken Card\r\nTHIS LINE HAS NO COLON\r\nEND:VCARD\r\n"

PLANTED = [
    Contact(name="محمد العلي", phone_numbers=("+965 5555 0101", "2222-0101"), emails=("m.ali@example.org",),
            source_app="vCard", source_record_id="card 1"),
    Contact(name="Jane Doe", phone_numbers=("(555) 0100",), emails=("jane@example.org",),
            organisation="Example Trading Co; Sales", source_app="vCard",
            source_record_id="card 2 uid urn:uuid:5e7a9f44-0000-4000-8000-000000000030",
            modified="2024-01-02T03:04:05+00:00"),
    Contact(name="فاطمة الزهراء", phone_numbers=("+965-5555-0202",), emails=("fatima@example.org",),
            source_app="vCard", source_record_id="card 3", modified="2024-01-02T00:04:05+00:00"),
]


def test_multi_version_file_yields_exactly_the_planted_contacts(tmp_path):
    assert "=\r\n" in CARD_21           # the soft line break really is there
    path = tmp_path / "contacts.vcf"
    path.write_bytes((CARD_21 + CARD_30 + CARD_40).encode("utf-8"))

    run = run_untouched(VCardPlugin(), path)

    assert run.warnings == []
    assert run.findings == PLANTED
    assert [e.timestamp_desc for e in run.findings[1].timeline_events()] == ["Contact Modified"]


def test_broken_card_warns_with_index_and_others_survive(tmp_path):
    path = tmp_path / "export.vcf"
    path.write_bytes((CARD_21 + BROKEN + CARD_30 + CARD_40).encode("utf-8"))

    run = run_untouched(VCardPlugin(), path)

    assert [c.name for c in run.findings] == ["محمد العلي", "Jane Doe", "فاطمة الزهراء"]
    assert len(run.warnings) == 1
    assert "card 2" in run.warnings[0] and "line 10" in run.warnings[0]


def test_no_cards_warns():
    run = run_plugin(VCardPlugin(), bytes_file_view(b"just text", "x.vcf"))
    assert run.findings == [] and "BEGIN:VCARD" in run.warnings[0]


def test_vcard_selector():
    assert VCardPlugin.SELECTOR.matches("sdcard/Download/00001.VCF", "text/plain", 10)
    assert VCardPlugin.SELECTOR.matches("x.bin", "text/vcard", 10)
