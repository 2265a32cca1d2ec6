"""The EML, MBOX and PST expanders. Mail is built with the standard library's
EmailMessage and written by its mailbox module (nobody here wrote either);
the oracle for every attachment is hashlib of the planted bytes."""

from __future__ import annotations

import base64
import io
import mailbox
import random

import pytest
from email.message import EmailMessage
from PIL import Image

from expansion_testlib import SimpleBudget, expand_all, probe_of, sha256
from traffick_triage.expansion import registry
from traffick_triage.expansion.api import ExpansionError, Member, MemberProblem
from traffick_triage.expansion.readers import _mime_parts
from traffick_triage.expansion.readers.eml import EmlExpander
from traffick_triage.expansion.readers.mbox import MboxExpander
from traffick_triage.expansion.readers.pst import PstExpander

PDF_BYTES = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def _jpeg(color) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(out, "JPEG", quality=80)
    return out.getvalue()


def _message(subject: str, photo: bytes, inner_photo: bytes) -> EmailMessage:
    inner = EmailMessage()
    inner["From"], inner["To"], inner["Subject"] = "carol@example.org", "alice@example.org", f"Fwd inside {subject}"
    inner["Date"] = "Mon, 01 Jan 2024 10:00:00 +0200"
    inner.set_content("see attached")
    inner.add_attachment(inner_photo, maintype="image", subtype="jpeg", filename="inner.jpg")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Alice <alice@example.org>", "bob@example.org", subject
    message["Date"], message["Message-ID"] = "Tue, 02 Jan 2024 10:00:00 -0500", f"<{subject}@example.org>"
    message.set_content("body text, not an item")
    message.add_alternative("<p>body</p>", subtype="html")
    message.add_attachment(photo, maintype="image", subtype="jpeg", filename="photo.jpg")
    message.add_attachment(PDF_BYTES, maintype="application", subtype="pdf", filename="report.pdf")
    message.add_attachment(inner)
    return message


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    photos = [(_jpeg((40 * i, 200, 10)), _jpeg((10, 30 * i, 200))) for i in range(3)]
    messages = [_message(f"m{i}", *photos[i]) for i in range(3)]
    path = tmp_path_factory.mktemp("mail") / "box.mbox"
    box = mailbox.mbox(str(path))
    for message in messages:
        box.add(message)
    box.flush()
    box.close()
    return {"eml": messages[0].as_bytes(), "photos": photos, "mbox": path.read_bytes(), "mbox_path": path}


def test_eml_attachments_are_the_planted_bytes(planted):
    members, problems, contents = expand_all(EmlExpander(), planted["eml"])
    assert problems == []
    photo, inner_photo = planted["photos"][0]
    assert {name: sha256(data) for name, data in contents.items()} == {
        "attachment 1 photo.jpg": sha256(photo),
        "attachment 2 report.pdf": sha256(PDF_BYTES),
        "forwarded 1/attachment 1 inner.jpg": sha256(inner_photo),
    }
    first = members[0]
    assert first.details["subject"] == "m0" and first.details["message_id"] == "<m0@example.org>"
    assert first.details["date_utc"] == "2024-01-02T15:00:00+00:00"
    assert members[2].details["subject"] == "Fwd inside m0" and members[2].details["date_utc"] == "2024-01-01T08:00:00+00:00"
    for member in members:   # the walk's streaming reader gives the same bytes as open_member
        assert member.opener().read() == contents[member.name]
        assert member.size == len(contents[member.name])


def test_mbox_of_three_messages(planted):
    members, problems, contents = expand_all(MboxExpander(), planted["mbox"])
    assert problems == []
    oracle_count = len(mailbox.mbox(str(planted["mbox_path"])))
    assert oracle_count == 3
    assert sorted({m.key["message"] for m in members}) == list(range(1, oracle_count + 1))
    expected = {}
    for index, (photo, inner_photo) in enumerate(planted["photos"]):
        prefix = f"msg {index + 1:04d}/"
        expected.update({prefix + "attachment 1 photo.jpg": sha256(photo),
                         prefix + "attachment 2 report.pdf": sha256(PDF_BYTES),
                         prefix + "forwarded 1/attachment 1 inner.jpg": sha256(inner_photo)})
    assert {name: sha256(data) for name, data in contents.items()} == expected
    assert [m.details["subject"] for m in members if m.name.endswith("photo.jpg")] == ["m0", "m1", "m2"]


def test_a_from_line_in_a_body_does_not_split_a_message():
    body = (b"From alice@example.org Tue Jan  2 10:00:00 2024\nFrom: alice@example.org\nTo: bob@example.org\n"
            b"Subject: one\nMIME-Version: 1.0\nContent-Type: text/plain\n\nfirst line\nFrom here on it is prose\n\n"
            b"From bob@example.org Wed Jan  3 10:00:00 2024\nFrom: bob@example.org\nSubject: two\n"
            b"Content-Type: image/png\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n")
    members, problems, contents = expand_all(MboxExpander(), body)
    assert not problems and list(contents.values()) == [b"hello"] and members[0].key["message"] == 2


def test_claims_by_content(planted):
    eml, mbox, pst = EmlExpander(), MboxExpander(), PstExpander()
    note = b"Note: buy milk\nTo: self\n\nand eggs\n"
    prose = b"From the start, this is a story.\nIt has no headers at all.\n\n"
    jpeg = planted["photos"][0][0]
    assert eml.claims(probe_of(planted["eml"])) and not eml.claims(probe_of(planted["mbox"]))
    assert mbox.claims(probe_of(planted["mbox"])) and not mbox.claims(probe_of(planted["eml"]))
    for other in (note, prose, jpeg, PDF_BYTES, b""):
        assert not eml.claims(probe_of(other)) and not mbox.claims(probe_of(other)) and not pst.claims(probe_of(other))


def test_registry_finds_each_expander_and_each_claims_only_its_own(planted):
    found = {expander.NAME: expander for expander in registry.builtin_expanders()}
    assert {"pdf-images", "eml", "mbox", "pst"} <= set(found)
    samples = {"eml": planted["eml"], "mbox": planted["mbox"], "pst": b"!BDN" + bytes(508), "pdf-images": PDF_BYTES}
    for name, sample in samples.items():
        claimers = [n for n in ("pdf-images", "eml", "mbox", "pst") if found[n].claims(probe_of(sample))]
        assert claimers == [name]
        assert found[name].library()


def _nested(levels: int) -> bytes:
    data = b""
    for level in range(levels):
        data += b"From: a@example.org\nSubject: level %d\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\n" % level
    return data + b"From: a@example.org\nSubject: last\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n"


@pytest.mark.parametrize("levels", [40, 3000])
def test_deep_nesting_is_one_problem_or_error(levels):
    try:
        members, problems, _ = expand_all(EmlExpander(), _nested(levels))
    except ExpansionError as error:
        assert "cannot be parsed" in str(error)
        return
    assert members == [] and len(problems) == 1 and "deeper" in problems[0].message


def test_damaged_base64_and_truncation_never_raise(planted):
    data = planted["eml"]
    damaged = data.replace(b"Content-Transfer-Encoding: base64\n\n", b"Content-Transfer-Encoding: base64\n\n!!**", 1)
    for sample in (damaged, data[: len(data) // 2], data[: len(data) // 3] + bytes(range(256))):
        members, problems, contents = expand_all(EmlExpander(), sample)
        assert all(isinstance(m, Member) for m in members) and all(isinstance(p, MemberProblem) for p in problems)


def test_message_over_the_size_limit_is_a_problem(planted, monkeypatch):
    monkeypatch.setattr(_mime_parts, "MAX_MESSAGE_BYTES", 2000)
    import traffick_triage.expansion.readers.mbox as mbox_module
    monkeypatch.setattr(mbox_module, "MAX_MESSAGE_BYTES", 2000)
    items = list(MboxExpander().members(io.BytesIO(planted["mbox"]), SimpleBudget()))
    assert len(items) == 3 and all(isinstance(i, MemberProblem) and "limit" in i.message for i in items)


def test_hostile_file_name_stays_one_segment():
    message = EmailMessage()
    message["From"], message["Subject"] = "a@example.org", "names"
    message.set_content("x")
    message.add_attachment(b"abc", maintype="application", subtype="octet-stream",
                           filename="../../etc/passwd > evil\x07" + "x" * 500)
    (member,), _, _ = expand_all(EmlExpander(), message.as_bytes())
    assert "/" not in member.name.split("attachment 1 ", 1)[1] and " > " not in member.name
    assert len(member.name) < 200 and member.name.isprintable()


def test_pst_garbage_and_truncation_are_one_clear_error():
    """No PST writer exists on Linux and no public PST sample is at hand:
    PST is tested here on damaged input only."""
    rng = random.Random(17)
    expander = PstExpander()
    assert "libpff" in expander.library()
    for sample in (b"!BDN", b"!BDN" + bytes(508), b"!BDN" + bytes(rng.randrange(256) for _ in range(70_000)),
                   b"!BDN\x00\x00\x00\x00SM\x17\x00" + bytes(600)):
        assert expander.claims(probe_of(sample))
        with pytest.raises(ExpansionError, match="not a readable PST/OST file"):
            list(expander.members(io.BytesIO(sample), SimpleBudget()))
        with pytest.raises(ExpansionError):
            expander.open_member(io.BytesIO(sample), {"folder": [], "message": 0, "attachment": 0}, SimpleBudget())


def test_base64_encoded_forwarded_message_is_an_eml_attachment():
    inner = b"From: carol@example.org\nSubject: inner\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n"
    outer = (b"From: a@example.org\nTo: b@example.org\nSubject: s\nMIME-Version: 1.0\n"
             b"Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nhi\n--XX\n"
             b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
             + base64.encodebytes(inner) + b"--XX--\n")
    members, problems, contents = expand_all(EmlExpander(), outer)
    assert not problems and contents == {"attachment 1.eml": inner}
    assert EmlExpander().claims(probe_of(inner))    # and it is expanded in turn as an EML


def test_the_member_size_cap_refuses_an_attachment(planted):
    budget = SimpleBudget(max_member=len(PDF_BYTES))      # the PDFs fit, the JPEGs do not
    members, problems, contents = expand_all(MboxExpander(), planted["mbox"], budget)
    assert set(contents.values()) == {PDF_BYTES} and len(members) == 3
    assert len(problems) == 6 and all("member size cap" in p.message and p.name.endswith(".jpg") for p in problems)


def test_a_header_block_longer_than_the_probe_is_still_mail(planted):
    received = b"".join(b"Received: from relay%d.example.org by mx.example.org; Mon, 1 Jan 2024 00:00:00 +0000\n" % i
                        for i in range(1000))
    assert EmlExpander().claims(probe_of(received + planted["eml"]))


def test_crlf_mail_and_mailbox():
    from email import policy
    photo, inner_photo = _jpeg((1, 2, 3)), _jpeg((3, 2, 1))
    data = _message("crlf", photo, inner_photo).as_bytes(policy=policy.SMTP)   # CRLF line ends, as sent
    planted = {sha256(photo), sha256(inner_photo), sha256(PDF_BYTES)}
    assert EmlExpander().claims(probe_of(data))
    assert {sha256(v) for v in expand_all(EmlExpander(), data)[2].values()} == planted
    box = b"".join(b"From a@example.org Mon Jan  1 00:00:00 2024\r\n" + data + b"\r\n" for _ in range(3))
    members, problems, contents = expand_all(MboxExpander(), box)
    assert MboxExpander().claims(probe_of(box)) and not problems and len(members) == 9
    assert {sha256(v) for v in contents.values()} == planted
