#!/usr/bin/env python3
"""Expanding a PDF's images and an MBOX's attachments, against anchors in the same run.

    .venv/bin/python bench/bench_expand_documents.py [--pages 300] [--messages 400]

PDF: a pikepdf-built PDF with one 400x300 JPEG and one 64x64 Flate RGB image
per page; ours = list every image and read + SHA-256 each (the walk's way,
through the member's opener); anchor = poppler's `pdfimages -all` writing
every image to files. MBOX: messages with a 100 KB attachment each, written
by Python's mailbox module; ours = list + read + SHA-256 every attachment;
anchor = mailbox.mbox (a path) + email.message_from_binary_file(policy.default)
+ iter_attachments, the standard library doing the same work. Fixtures live
in bench/work/ (gitignored) and are reused. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import email
import hashlib
import io
import mailbox
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from email import policy
from email.message import EmailMessage
from pathlib import Path

import benchlib as B

sys.path.insert(0, str(B.REPO / "src"))

from traffick_triage.expansion.api import ExpansionBudget  # noqa: E402
from traffick_triage.expansion.readers.mbox import MboxExpander  # noqa: E402
from traffick_triage.expansion.readers.pdf_images import PdfImagesExpander  # noqa: E402


class _Unbounded(ExpansionBudget):
    def charge_member(self) -> None:
        pass

    def charge_bytes(self, count: int) -> None:
        pass

    def member_limit(self, declared_size, compressed_size):
        return None

    def bounded(self, stream, limit=None):
        return stream


def build_pdf(path: Path, pages: int) -> None:
    import pikepdf
    from PIL import Image
    rng = random.Random(20261207)
    pdf = pikepdf.new()
    n = pikepdf.Name
    for index in range(pages):
        out = io.BytesIO()
        Image.effect_noise((400, 300), 40 + index % 60).convert("RGB").save(out, "JPEG", quality=85)
        jpeg = pdf.make_indirect(pikepdf.Stream(pdf, out.getvalue(), Type=n.XObject, Subtype=n.Image, Width=400,
                                                Height=300, ColorSpace=n.DeviceRGB, BitsPerComponent=8,
                                                Filter=n.DCTDecode))
        pixels = bytes(rng.randrange(256) for _ in range(64 * 64 * 3))
        flate = pdf.make_indirect(pikepdf.Stream(pdf, zlib.compress(pixels), Type=n.XObject, Subtype=n.Image,
                                                 Width=64, Height=64, ColorSpace=n.DeviceRGB, BitsPerComponent=8,
                                                 Filter=n.FlateDecode))
        pdf.add_blank_page(page_size=(400, 300))
        page = pdf.pages[-1]
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im1=jpeg, Im2=flate))
        page.Contents = pdf.make_stream(b"q 400 0 0 300 0 0 cm /Im1 Do Q q 64 0 0 64 0 0 cm /Im2 Do Q")
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)


def build_mbox(path: Path, messages: int) -> None:
    rng = random.Random(20261207)
    box = mailbox.mbox(str(path))
    for index in range(messages):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", f"m{index}"
        message["Date"] = "Tue, 02 Jan 2024 10:00:00 -0500"
        message.set_content("hello\n" * 200)
        message.add_attachment(rng.randbytes(100_000), maintype="application", subtype="octet-stream",
                               filename=f"f{index}.bin")
        box.add(message)
    box.flush()
    box.close()


def ours(expander, path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    count = 0
    with open(path, "rb") as container:
        for item in expander.members(container, _Unbounded()):
            if getattr(item, "opener", None):
                hashlib.sha256(item.opener().read()).hexdigest()
                count += 1
    return time.perf_counter() - started, count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--messages", type=int, default=400)
    args = ap.parse_args()
    B.WORK.mkdir(parents=True, exist_ok=True)
    pdf_path = B.WORK / f"expand-{args.pages}-pages.pdf"
    mbox_path = B.WORK / f"expand-{args.messages}-messages.mbox"
    if not pdf_path.exists():
        build_pdf(pdf_path, args.pages)
    if not mbox_path.exists():
        build_mbox(mbox_path, args.messages)
    rows = []

    pdf_ours, pdf_count = ours(PdfImagesExpander(), pdf_path)
    anchor_count, pdf_anchor = 0, float("nan")
    if shutil.which("pdfimages"):
        with tempfile.TemporaryDirectory() as scratch:
            started = time.perf_counter()
            subprocess.run(["pdfimages", "-all", str(pdf_path), f"{scratch}/img"], check=True)
            pdf_anchor = time.perf_counter() - started
            anchor_count = len(os.listdir(scratch))
    rows.append(("PDF images", pdf_path.stat().st_size, pdf_count, pdf_ours, "pdfimages -all", anchor_count, pdf_anchor))

    mbox_ours, mbox_count = ours(MboxExpander(), mbox_path)
    started = time.perf_counter()
    anchor_count = 0
    factory = lambda f: email.message_from_binary_file(f, policy=policy.default)  # noqa: E731
    for message in mailbox.mbox(str(mbox_path), factory=factory):
        for part in message.iter_attachments():
            hashlib.sha256(part.get_payload(decode=True)).hexdigest()
            anchor_count += 1
    mbox_anchor = time.perf_counter() - started
    rows.append(("MBOX attachments", mbox_path.stat().st_size, mbox_count, mbox_ours,
                 "mailbox + email (stdlib)", anchor_count, mbox_anchor))

    lines = ["## Expanding PDFs and mail (bench/bench_expand_documents.py)", "",
             f"Command: `.venv/bin/python bench/bench_expand_documents.py --pages {args.pages} "
             f"--messages {args.messages}`. {B.machine_line()}.", "",
             "| container | MB | items | ours s | anchor | anchor items | anchor s | ours / anchor |",
             "|---|---|---|---|---|---|---|---|"]
    for name, size, count, mine, anchor, anchor_items, theirs in rows:
        lines.append(f"| {name} | {size / B.MB:.1f} | {count} | {mine:.2f} | {anchor} | {anchor_items} | "
                     f"{theirs:.2f} | {mine / theirs:.2f} |")
    body = "\n".join(lines)
    print(body)
    B.write_section("bench_expand_documents", body)


if __name__ == "__main__":
    main()
