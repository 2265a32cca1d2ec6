"""The PDF image expander against planted bytes and poppler's pdfimages.

The fixture PDF is built with pikepdf: one Pillow-made JPEG embedded as a
DCTDecode image drawn on two pages, one Flate-compressed RGB image of known
pixels on page 2, one image drawn through a form XObject that draws itself
(a loop), and one image no page draws. Oracles: hashlib of the planted JPEG
bytes and of the planted pixels, and pdfimages (Debian poppler-utils), which
nobody here wrote."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
import zlib

import pikepdf
import pytest
from PIL import Image

from expansion_testlib import SimpleBudget, expand_all, probe_of, sha256
from traffick_triage.expansion.api import ExpansionError, MemberProblem
from traffick_triage.expansion.readers.pdf_images import PdfImagesExpander

WIDTH, HEIGHT = 16, 12
PIXELS = bytes((x * 7 + 3) % 256 for x in range(WIDTH * HEIGHT * 3))
N = pikepdf.Name


def _jpeg(color: tuple[int, int, int], size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=85)
    return out.getvalue()


def _image(pdf, data: bytes, width: int, height: int, filt, space=N.DeviceRGB, **extra):
    return pdf.make_indirect(pikepdf.Stream(pdf, data, Type=N.XObject, Subtype=N.Image, Width=width, Height=height,
                                            ColorSpace=space, BitsPerComponent=8, Filter=filt, **extra))


def _page(pdf, xobjects: dict, content: bytes) -> None:
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[-1]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(xobjects))
    page.Contents = pdf.make_stream(content)


def _save(pdf, **kwargs) -> bytes:
    out = io.BytesIO()
    if "encryption" not in kwargs:
        # Streams as built: qpdf would otherwise decode and re-encode every stream it can on writing.
        kwargs.update(compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    pdf.save(out, **kwargs)
    return out.getvalue()


@pytest.fixture(scope="module")
def planted():
    pdf = pikepdf.new()
    jpeg, in_form, unused = _jpeg((200, 40, 40)), _jpeg((40, 200, 40)), _jpeg((40, 40, 200))
    shared = _image(pdf, jpeg, 40, 30, N.DCTDecode)
    flate = _image(pdf, zlib.compress(PIXELS), WIDTH, HEIGHT, N.FlateDecode)
    _page(pdf, {"/Im1": shared}, b"q 40 0 0 30 0 0 cm /Im1 Do Q")
    _page(pdf, {"/Im1": shared, "/Im2": flate}, b"q 40 0 0 30 0 0 cm /Im1 Do Q q 16 0 0 12 50 50 cm /Im2 Do Q")
    form = pdf.make_indirect(pikepdf.Stream(pdf, b"q 40 0 0 30 0 0 cm /Im3 Do Q", Type=N.XObject, Subtype=N.Form,
                                            BBox=[0, 0, 200, 200]))
    form.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(
        Im3=_image(pdf, in_form, 40, 30, N.DCTDecode), Fm1=form))   # the form lists itself: a loop
    _page(pdf, {"/Fm1": form}, b"/Fm1 Do")
    orphan = _image(pdf, unused, 40, 30, N.DCTDecode)
    pdf.Root.Unused = orphan   # reachable, so saved, but drawn by no page
    return {"pdf": _save(pdf), "jpeg": jpeg, "in_form": in_form, "unused": unused}


def test_claims_pdf_only(planted):
    expander = PdfImagesExpander()
    assert expander.claims(probe_of(planted["pdf"]))
    assert not expander.claims(probe_of(planted["jpeg"]))
    assert not expander.claims(probe_of(b"just some text about PDF files\n" * 10))
    assert not expander.claims(probe_of(b"a note: files begin with %PDF-1.7 and end with %%EOF\n" * 10))
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as archive:   # a PDF near the start: the ZIP's
        archive.writestr("doc.pdf", planted["pdf"])
    assert not expander.claims(probe_of(stored.getvalue()))
    junk_first = b"\x00" * 100 + planted["pdf"]            # allowed before the header
    assert expander.claims(probe_of(junk_first))
    assert sha256(planted["jpeg"]) in {sha256(d) for d in expand_all(expander, junk_first)[2].values()}
    assert "pikepdf" in expander.library() and "qpdf" in expander.library()


def test_every_image_once_jpeg_byte_for_byte(planted):
    members, problems, contents = expand_all(PdfImagesExpander(), planted["pdf"])
    assert problems == []
    names = [m.name for m in members]
    assert len(names) == len(set(names)) == 4
    by_hash = {sha256(data): name for name, data in contents.items()}
    assert by_hash[sha256(planted["jpeg"])].startswith("page 1 image /Im1 (obj ")   # first page that draws it
    assert by_hash[sha256(planted["in_form"])].startswith("page 3 form /Fm1 image /Im3")
    assert by_hash[sha256(planted["unused"])].startswith("unused image")
    png = next(data for name, data in contents.items() if name.endswith(".png"))
    assert Image.open(io.BytesIO(png)).convert("RGB").tobytes() == PIXELS
    decoded = next(m for m in members if m.name.endswith(".png"))
    assert any("decode" in note for note in decoded.notes)
    jpeg_member = next(m for m in members if m.name == by_hash[sha256(planted["jpeg"])])
    assert jpeg_member.size == len(planted["jpeg"]) and jpeg_member.notes == []


def test_listing_is_stable(planted):
    first, _, _ = expand_all(PdfImagesExpander(), planted["pdf"])
    second, _, _ = expand_all(PdfImagesExpander(), planted["pdf"])
    assert [(m.name, m.key) for m in first] == [(m.name, m.key) for m in second]


@pytest.mark.skipif(shutil.which("pdfimages") is None, reason="pdfimages (poppler-utils) is the oracle")
def test_same_images_as_pdfimages(planted, tmp_path):
    path = tmp_path / "planted.pdf"
    path.write_bytes(planted["pdf"])
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    oracle_objects = {(int(row[10]), int(row[11])) for row in rows}    # the "object ID" columns
    members, _, contents = expand_all(PdfImagesExpander(), planted["pdf"])
    drawn = {(m.key["obj"], m.key["gen"]) for m in members if not m.name.startswith("unused image")}
    assert drawn == oracle_objects
    subprocess.run(["pdfimages", "-all", str(path), str(tmp_path / "img")], check=True)
    oracle_jpegs = {sha256(p.read_bytes()) for p in tmp_path.glob("img-*.jpg")}
    ours = {sha256(data) for name, data in contents.items()
            if name.endswith(".jpg") and not name.startswith("unused image")}
    assert ours == oracle_jpegs
    oracle_png = next(tmp_path.glob("img-*.png"))
    our_png = next(data for name, data in contents.items() if name.endswith(".png"))
    assert (Image.open(oracle_png).convert("RGB").tobytes()
            == Image.open(io.BytesIO(our_png)).convert("RGB").tobytes())


def test_empty_user_password_opens_and_a_real_one_is_refused(planted):
    pdf = pikepdf.open(io.BytesIO(planted["pdf"]))
    owner_only = _save(pdf, encryption=pikepdf.Encryption(owner="owner", user="", R=6))
    members, problems, contents = expand_all(PdfImagesExpander(), owner_only)
    assert sha256(planted["jpeg"]) in {sha256(d) for d in contents.values()} and not problems
    locked = _save(pdf, encryption=pikepdf.Encryption(owner="owner", user="secret", R=6))
    with pytest.raises(ExpansionError, match="encrypted"):
        list(PdfImagesExpander().members(io.BytesIO(locked), SimpleBudget()))


def test_flate_bomb_is_stopped_by_the_image_size():
    pdf = pikepdf.new()
    bomb = zlib.compress(bytes(64 << 20), 9)      # 64 MiB of zeros in ~64 KB, for a 10 KB image
    image = _image(pdf, bomb, 100, 100, N.FlateDecode, space=N.DeviceGray)
    _page(pdf, {"/Im1": image}, b"/Im1 Do")
    data = _save(pdf)
    expander = PdfImagesExpander()
    (member,) = list(expander.members(io.BytesIO(data), SimpleBudget()))
    started = time.monotonic()
    with pytest.raises(ExpansionError, match="memory limit") as refused:    # qpdf's Flate limit, the image's size
        expander.open_member(io.BytesIO(data), member.key, SimpleBudget())
    assert " at 0x" not in str(refused.value)    # no memory address: warnings are the same in every run
    assert time.monotonic() - started < 5


def test_huge_declared_size_is_a_problem_not_a_decode():
    pdf = pikepdf.new()
    image = _image(pdf, zlib.compress(b"\0" * 1000), 100_000, 100_000, N.FlateDecode)
    _page(pdf, {"/Im1": image}, b"/Im1 Do")
    items = list(PdfImagesExpander().members(io.BytesIO(_save(pdf)), SimpleBudget()))
    assert len(items) == 1 and isinstance(items[0], MemberProblem)
    assert "decode budget" in items[0].message


def test_lying_lzw_stream_is_refused():
    pdf = pikepdf.new()
    image = _image(pdf, b"\x80" * 50_000, 8, 8, N.LZWDecode, space=N.DeviceGray)
    _page(pdf, {"/Im1": image}, b"/Im1 Do")
    data = _save(pdf)
    (member,) = list(PdfImagesExpander().members(io.BytesIO(data), SimpleBudget()))
    with pytest.raises(ExpansionError, match="LZW"):
        PdfImagesExpander().open_member(io.BytesIO(data), member.key, SimpleBudget())


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.9])
def test_truncated_pdf_gives_members_or_one_error(planted, cut):
    data = planted["pdf"][:int(len(planted["pdf"]) * cut)]
    expander = PdfImagesExpander()
    try:
        items = list(expander.members(io.BytesIO(data), SimpleBudget()))
    except ExpansionError:
        return
    for item in items:
        if isinstance(item, MemberProblem):
            continue
        try:
            expander.open_member(io.BytesIO(data), item.key, SimpleBudget()).read()
        except ExpansionError:
            pass


def test_garbage_after_the_header_is_one_error():
    with pytest.raises(ExpansionError):
        list(PdfImagesExpander().members(io.BytesIO(b"%PDF-1.7\n" + bytes(range(256)) * 40), SimpleBudget()))


def test_member_key_for_a_missing_object_is_one_error(planted):
    with pytest.raises(ExpansionError):
        PdfImagesExpander().open_member(io.BytesIO(planted["pdf"]), {"obj": 99999, "gen": 0, "as": "raw"},
                                        SimpleBudget())


def test_object_names_say_where_the_image_is(planted):
    members, _, _ = expand_all(PdfImagesExpander(), planted["pdf"])
    for member in members:
        assert re.search(r"\(obj \d+\)\.(jpg|png)$", member.name), member.name
        assert member.details["pdf_object"] == member.key["obj"]


def test_jpeg_under_a_flate_layer_is_given_as_the_jpeg():
    pdf = pikepdf.new()
    jpeg = _jpeg((10, 120, 230))
    image = _image(pdf, zlib.compress(jpeg), 40, 30, pikepdf.Array([N.FlateDecode, N.DCTDecode]))
    _page(pdf, {"/Im1": image}, b"/Im1 Do")
    members, problems, contents = expand_all(PdfImagesExpander(), _save(pdf))
    assert not problems and [sha256(data) for data in contents.values()] == [sha256(jpeg)]
    assert members[0].name.endswith(".jpg") and "FlateDecode" in members[0].notes[0]


def test_opener_during_the_listing_and_after_it_gives_the_same_bytes(planted):
    expander = PdfImagesExpander()
    container = io.BytesIO(planted["pdf"])
    during = {}
    members = []
    for member in expander.members(container, SimpleBudget()):
        during[member.name] = member.opener().read()
        members.append(member)
    after = {member.name: member.opener().read() for member in members}   # the listing has closed its PDF
    _, _, reopened = expand_all(expander, planted["pdf"])
    assert during == after == reopened


def _raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF written by hand, for structures no PDF library would write."""
    out, offsets = b"%PDF-1.7\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


_JPEG = _jpeg((90, 90, 90), size=(8, 8))


def _image_object(length: bytes) -> bytes:
    return (b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceRGB /BitsPerComponent 8 "
            b"/Filter /DCTDecode /Length " + length + b" >>\nstream\n" + _JPEG + b"\nendstream")


HOSTILE = {
    "page tree loop": [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                       b"<< /Type /Page /Parent 2 0 R /Resources << /XObject << /Im1 4 0 R >> >> >>",
                       _image_object(b"%d" % len(_JPEG))],
    "huge declared length": [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                             b"<< /Type /Page /Parent 2 0 R /Resources << /XObject << /Im1 4 0 R >> >> >>",
                             _image_object(b"99999999999")],
    "resources that hold themselves": [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                       b"<< /Type /Page /Parent 2 0 R /Resources 5 0 R >>",
                                       _image_object(b"%d" % len(_JPEG)),
                                       b"<< /XObject << /Im1 4 0 R /Self 5 0 R >> /Me 5 0 R >>"],
    "parent loop": [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 2 0 R >>",
                    b"<< /Type /Page /Parent 2 0 R >>"],
    "arrays nested 100,000 deep": [b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 100_000 + b"]" * 100_000 + b" >>",
                                   b"<< /Type /Pages /Kids [] /Count 0 >>"],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_structures_give_images_problems_or_one_error(case):
    data = _raw_pdf(HOSTILE[case])
    try:
        members, problems, contents = expand_all(PdfImagesExpander(), data)
    except ExpansionError:
        assert case == "arrays nested 100,000 deep"
        return
    problems = [p for p in problems if p.name != "damaged PDF"]    # qpdf's repairs: tested apart
    if case != "parent loop":
        # the JPEG is found once, byte for byte, even when the page tree cannot be read (the
        # sweep finds it) or its /Length lies (qpdf finds the end at "endstream")
        assert [sha256(data) for data in contents.values()] == [sha256(_JPEG)]
        assert members[0].size == len(_JPEG)
    assert (case == "page tree loop") == bool(problems)


@pytest.fixture(scope="module")
def decode_kinds():
    """One image per decode path: JPEG 2000 (kept as embedded), 8-bit gray,
    1-bit gray, an indexed (palette) image, all Flate except the JPEG 2000."""
    pdf = pikepdf.new()
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (30, 60, 90)).save(out, "JPEG2000")
    jp2 = out.getvalue()
    gray = bytes((x * 13) % 256 for x in range(20 * 10))
    bits = bytes([0b10110010, 0b01100000]) * 10          # 12 pixels a row, padded to 2 bytes
    palette = pikepdf.String(bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 10]))
    indexed = bytes(x % 4 for x in range(20 * 10))
    images = {
        "/Im1": _image(pdf, jp2, 20, 10, N.JPXDecode),
        "/Im2": _image(pdf, zlib.compress(gray), 20, 10, N.FlateDecode, space=N.DeviceGray),
        "/Im3": pdf.make_indirect(pikepdf.Stream(pdf, zlib.compress(bits), Type=N.XObject, Subtype=N.Image, Width=12,
                                                 Height=10, ColorSpace=N.DeviceGray, BitsPerComponent=1,
                                                 Filter=N.FlateDecode)),
        "/Im4": _image(pdf, zlib.compress(indexed), 20, 10, N.FlateDecode,
                       space=pikepdf.Array([N.Indexed, N.DeviceRGB, 3, palette])),
    }
    _page(pdf, images, b"".join(b"q 20 0 0 10 0 %d cm %s Do Q " % (i * 12, name.encode())
                                for i, name in enumerate(sorted(images))))
    return {"pdf": _save(pdf), "jp2": jp2}


def test_jpeg2000_kept_and_other_kinds_decoded(decode_kinds):
    members, problems, contents = expand_all(PdfImagesExpander(), decode_kinds["pdf"])
    assert not problems and len(members) == 4
    assert [sha256(data) for name, data in contents.items() if name.endswith(".jp2")] == [sha256(decode_kinds["jp2"])]


@pytest.mark.skipif(shutil.which("pdfimages") is None, reason="pdfimages (poppler-utils) is the oracle")
def test_decoded_pixels_equal_pdfimages(decode_kinds, tmp_path):
    path = tmp_path / "kinds.pdf"
    path.write_bytes(decode_kinds["pdf"])
    subprocess.run(["pdfimages", "-png", str(path), str(tmp_path / "img")], check=True)
    oracle = sorted(tmp_path.glob("img-*.png"))              # in drawing order: Im1, Im2, Im3, Im4
    members, _, contents = expand_all(PdfImagesExpander(), decode_kinds["pdf"])
    ours = {m.name.split(" image ")[1].split(" ")[0]: contents[m.name] for m in members}
    assert len(oracle) == 4
    for name, oracle_png in zip(["/Im1", "/Im2", "/Im3", "/Im4"], oracle):
        if name == "/Im1":
            continue   # kept as the embedded JPEG 2000, compared by hash above
        assert (Image.open(io.BytesIO(ours[name])).convert("RGB").tobytes()
                == Image.open(oracle_png).convert("RGB").tobytes()), name


def test_over_the_object_cap_only_drawn_images_are_listed(planted, monkeypatch):
    from traffick_triage.expansion.readers import pdf_images
    monkeypatch.setattr(pdf_images, "MAX_OBJECTS", 5)
    members, problems, contents = expand_all(PdfImagesExpander(), planted["pdf"])
    assert [p.name for p in problems] == ["objects"] and "objects" in problems[0].message
    assert len(members) == 3 and not any(m.name.startswith("unused image") for m in members)


def test_qpdf_says_nothing_on_stderr(tmp_path):
    """qpdf's complaints about a damaged PDF go through Python logging, which
    prints them on stderr when nothing is set up (as in the CLI); they must not
    reach the terminal: the expander's problems are the report's. Run in a
    child process, where pytest's log capture is not installed."""
    data = _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R --3] /Count 1 >>",
                     b"<< /Type /Page /Parent 2 0 R /Resources << /XObject << /Im1 4 0 R >> >> >>",
                     _image_object(b"%d" % len(_JPEG)), b"<< >>"])
    data = data[:data.index(b"xref")]   # cut before the xref: qpdf recovers, and complains of the kid "--3"
    path = tmp_path / "damaged.pdf"
    path.write_bytes(data)
    script = ("import io, sys; from traffick_triage.expansion.readers.pdf_images import PdfImagesExpander; "
              "from expansion_testlib import SimpleBudget; "
              "items = list(PdfImagesExpander().members(io.BytesIO(open(sys.argv[1], 'rb').read()), SimpleBudget())); "
              "print(sorted(type(i).__name__ for i in items))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "['Member', 'MemberProblem']", done.stderr
    assert done.stderr == "", done.stderr
