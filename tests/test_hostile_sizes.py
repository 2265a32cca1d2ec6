"""Gigabytes from kilobytes (issue 16, item 5): a small input that would make
the tool build something huge is bounded, named, and costs < 1 GB RSS.

Each command runs as a subprocess of a fresh interpreter that reports the
peak RSS of everything it waited for (RUSAGE_CHILDREN: the triage process and
its workers), so the runner's own memory is not counted.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)
RSS_LIMIT = 1 << 30

_MEASURED = (
    "import resource, subprocess, sys;"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=900);"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024;"
    "sys.stderr.write(done.stderr); sys.stdout.write(done.stdout);"
    "print(); print('PEAK', done.returncode, peak)"
)


def triage_measured(tmp_path: Path, *args: str) -> tuple[int, int, str, str]:
    """(exit code, peak RSS in bytes, stdout, stderr) of `triage ARGS`."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TMPDIR": str(tmp_path)}
    done = subprocess.run([str(PYTHON), "-c", _MEASURED, str(PYTHON), "-m", "traffick_triage", *args],
                          env=env, capture_output=True, text=True, timeout=1000, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out, _, tail = done.stdout.rpartition("PEAK ")
    code, peak = tail.split()
    return int(code), int(peak), out, done.stderr


# -- a VICS JSON nested 50,000 deep -------------------------------------------------------------


def _deep_vics(path: Path, depth: int = 50_000) -> Path:
    # 100 KB. A VICS reader takes it for VICS ("value"); ijson's C parser kept
    # the prefix of every open level, "value.item.item...": 6 GB.
    path.write_text('{"odata.metadata": "x", "value": [' + "[" * depth + "]" * depth + "]}", encoding="ascii")
    return path


def _one_error_line(stderr: str, *words: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]


def test_deeply_nested_vics_is_refused_by_hashset_info(tmp_path):
    deep = _deep_vics(tmp_path / "deep.json")

    code, peak, _, stderr = triage_measured(tmp_path, "hashset", "info", str(deep))

    print(f"hashset info, 50,000-deep VICS: peak RSS {peak >> 20} MiB")
    assert code == 2, stderr
    _one_error_line(stderr, "deep.json", "nested deeper than 64 levels")
    assert peak < RSS_LIMIT, f"peak RSS {peak >> 20} MiB"


def test_deeply_nested_vics_given_to_scan_stops_it_before_it_starts(tmp_path):
    deep = _deep_vics(tmp_path / "deep.json")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "control.txt").write_bytes(b"control\n")
    case = tmp_path / "case"

    code, peak, _, stderr = triage_measured(tmp_path, "scan", str(evidence), "-o", str(case), "-q",
                                            "--workers", "1", "--hashset", str(deep))

    print(f"scan --hashset, 50,000-deep VICS: peak RSS {peak >> 20} MiB")
    assert code == 2, stderr
    _one_error_line(stderr, "deep.json", "nested deeper than 64 levels")
    assert not (case / "report.json").exists()
    assert peak < RSS_LIMIT, f"peak RSS {peak >> 20} MiB"


def test_vics_at_the_depth_limit_is_still_read(tmp_path):
    # The bound refuses nesting, not VICS: a Media object whose extra field
    # nests to exactly 64 levels in all is read, and its hash is the file's.
    md5 = hashlib.md5(b"benign").hexdigest()
    nested: object = "leaf"
    for _ in range(64 - 3):          # the root object, "value" and the Media object make 3
        nested = [nested]
    document = {"odata.metadata": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/$metadata",
                "value": [{"MediaID": 1, "Category": 1, "MD5": md5, "Extra": nested}]}
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    code, _, stdout, stderr = triage_measured(tmp_path, "hashset", "info", str(path))

    assert code == 0, stderr
    info = json.loads(stdout)
    assert (info["format"], info["entry_count"], info["hashes"].get("md5")) == ("vics-json", 1, 1)
    # One level more is refused.
    document["value"][0]["Extra"] = [nested]
    path.write_text(json.dumps(document), encoding="utf-8")
    code, _, _, stderr = triage_measured(tmp_path, "hashset", "info", str(path))
    assert code == 2, stderr
    _one_error_line(stderr, "ok.json", "nested deeper than 64 levels")


def test_deeply_nested_yaml_case_file_is_one_line(tmp_path):
    # PyYAML composes nested nodes recursively: RecursionError was an
    # "internal error ... this is a bug" (memory stays small).
    case_file = tmp_path / "case.yaml"
    case_file.write_text("evidence:\n  - path: x\nextra: " + "[" * 5000 + "]" * 5000 + "\n", encoding="ascii")

    code, peak, _, stderr = triage_measured(tmp_path, "batch", str(case_file))

    assert code == 2, stderr
    _one_error_line(stderr, "case.yaml", "nested too deep")
    assert peak < RSS_LIMIT


def test_deeply_nested_yaml_keyword_file_is_a_keyword_file_error(tmp_path):
    from traffick_triage.identifiers.keywords import KeywordFileError, load_keyword_file

    path = tmp_path / "deep.yaml"
    path.write_text("[" * 5000 + "]" * 5000, encoding="ascii")
    try:
        load_keyword_file(path)
    except KeywordFileError as error:
        assert "nested too deep" in str(error) and "deep.yaml" in str(error)
    else:
        raise AssertionError("a 5,000-deep keyword file was accepted")


def test_verify_of_a_case_folder_with_deeply_nested_json_names_it(tmp_path):
    # A case folder passed between agencies is untrusted input to `triage
    # verify`: json.loads raised RecursionError ("internal error").
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "control.txt").write_bytes(b"control\n")
    case = tmp_path / "case"
    code, _, _, stderr = triage_measured(tmp_path, "scan", str(evidence), "-o", str(case), "-q",
                                         "--workers", "1", "--no-plugins")
    assert code == 0, stderr
    deep = "[" * 100_000 + "]" * 100_000
    (case / "manifest.json").write_text(deep, encoding="ascii")

    code, peak, stdout, stderr = triage_measured(tmp_path, "verify", str(case))

    assert code == 1, stdout + stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert "unreadable manifest.json" in stdout
    assert peak < RSS_LIMIT


# -- a 13,000 x 13,000 PNG under Pillow's pixel limit -------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _uniform_png(path: Path, width: int, height: int, exif_after_pixels: bytes = b"") -> Path:
    """An 8-bit RGB PNG of one grey, written row by row (the test never holds
    the picture: 13,000 x 13,000 is 507 MB of pixels and about 500 KB of file);
    an eXIf chunk after the image data when given (Pillow reaches such a
    chunk only by decoding every pixel)."""
    row = b"\x00" + b"\x80" * (3 * width)          # filter 0, then the pixels
    packer = zlib.compressobj(9)
    idat = bytearray()
    for _ in range(height):
        idat += packer.compress(row)
    idat += packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + _png_chunk(b"IDAT", bytes(idat))
                     + (_png_chunk(b"eXIf", exif_after_pixels) if exif_after_pixels else b"")
                     + _png_chunk(b"IEND", b""))
    return path


def _control_jpeg(path: Path) -> Path:
    from PIL import Image, ImageDraw

    picture = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for step in range(0, 640, 80):
        draw.rectangle((step, step // 2, step + 40, step // 2 + 120), fill=(200, 30 + step // 4, 90))
    picture.save(path, "JPEG", quality=90)
    return path


def test_huge_png_is_named_and_the_control_jpeg_still_hashed_in_bounded_memory(tmp_path):
    import numpy as np
    import pdqhash
    from PIL import Image

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    exif = Image.Exif()
    exif[0x010F] = "BenignCam"                          # Make
    big = _uniform_png(evidence / "big.png", 13_000, 13_000, exif_after_pixels=exif.tobytes()[6:])
    control = _control_jpeg(evidence / "control.jpg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(big) as header:      # a valid PNG, under Pillow's own limit
            assert header.size == (13_000, 13_000)
            assert 13_000 * 13_000 < 2 * Image.MAX_IMAGE_PIXELS
    case = tmp_path / "case"

    code, peak, _, stderr = triage_measured(tmp_path, "scan", str(evidence), "-o", str(case), "-q",
                                            "--workers", "2")

    print(f"scan of a 13,000 x 13,000 PNG beside a JPEG: peak RSS {peak >> 20} MiB")
    assert code == 1, stderr
    # Tighter than the 1 GB: decoding the PNG once anywhere (the
    # perceptual or the EXIF plugin reaching its tags) costs 680-740 MiB.
    assert peak < 400 << 20, f"peak RSS {peak >> 20} MiB"
    report = json.loads((case / "report.json").read_text(encoding="utf-8"))
    named = [w for w in report["warnings"] if "big.png" in (w.get("locator") or "") + w["message"]]
    assert len(named) == 1, named
    assert "not hashed perceptually" in named[0]["message"]
    assert "larger than 64,000,000 pixels" in named[0]["message"]
    hashes = {f["locator"]: f["data"] for f in report["findings"] if f["kind"] == "perceptual.hash"}
    assert [locator for locator in hashes if locator.endswith("big.png")] == []
    (locator, data), = [(k, v) for k, v in hashes.items() if k.endswith("control.jpg")]
    with Image.open(control) as picture:     # the oracle: Meta's PDQ on Pillow's full decode
        bits, quality = pdqhash.compute(np.asarray(picture.convert("RGB")))
    full = int(np.packbits(bits.astype(np.uint8)).tobytes().hex(), 16)
    # Hashed at PDQ's 512 px working size: within the reference tolerance of the full decode.
    assert bin(int(data["pdq"], 16) ^ full).count("1") <= 16
    assert data["drafted"] == (max(picture.size) > 512)
    # The EXIF after its pixels is still read (by exifread, which walks the chunks).
    makes = [f["data"].get("make") for f in report["findings"]
             if f["kind"] == "exif.metadata" and f["locator"].endswith("big.png")]
    assert makes == ["BenignCam"], makes
    # Report thumbnails (opt-in): none for the big PNG, made without decoding
    # it; the control gets one. Measured in a fresh interpreter (VmHWM).
    big_locator = next(f["locator"] for f in report["files"] if f["path"].endswith("big.png"))
    code = ("import sys; from pathlib import Path; from traffick_triage.report import html;"
            "uris = [html._thumbnail(Path(sys.argv[1]), name, set()) for name in sys.argv[2:]];"
            "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'));"
            "print([None if u is None else u[:22] for u in uris], hwm * 1024)")
    done = subprocess.run([str(PYTHON), "-c", code, str(case), big_locator, locator], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")}, timeout=300)
    assert done.returncode == 0, done.stderr
    uris, hwm = done.stdout.rsplit(" ", 1)
    assert uris == "[None, 'data:image/jpeg;base64']", uris
    assert int(hwm) < 400 << 20, f"thumbnails: peak RSS {int(hwm) >> 20} MiB"


def test_large_pictures_are_decoded_reduced_and_hash_close_to_the_full_picture(tmp_path):
    # decode_once's budget at a small scale: a 2,000 x 1,500 PNG and JPEG with
    # a budget of 1,000,000 pixels are reduced by 2 (PNG: box average; JPEG:
    # libjpeg's DCT scaling) and their PDQ stays within the reference
    # tolerance (16 bits) of Meta's PDQ of the full picture.
    import numpy as np
    import pdqhash
    from PIL import Image, ImageDraw

    from traffick_triage.perceptual import ImageOverDecodeBudget, decode_once, pdq_from_image

    picture = Image.linear_gradient("L").resize((2000, 1500)).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for step in range(0, 2000, 150):
        draw.ellipse((step, step // 3, step + 300, step // 3 + 400), fill=(20, 200 - step // 20, 120))
    bits, _ = pdqhash.compute(np.asarray(picture))
    full = np.packbits(bits.astype(np.uint8)).tobytes().hex()
    for fmt, name in (("PNG", "p.png"), ("JPEG", "p.jpg")):
        path = tmp_path / name
        picture.save(path, fmt, quality=95)
        decoded = decode_once(path, reduce_to_pixels=1_000_000, max_decode_pixels=3_000_000)
        assert decoded.size == (1000, 750), fmt
        assert (decoded.drafted, decoded.reduced_by) == ((False, 2) if fmt == "PNG" else (True, 1))
        distance = (int(pdq_from_image(decoded).hash, 16) ^ int(full, 16)).bit_count()
        assert distance <= 16, (fmt, distance)
        # Under its pixel budget the PNG cannot be decoded at all (no reduced
        # decode for PNG); the JPEG can (1/4 scale: 500 x 375).
        if fmt == "PNG":
            try:
                decode_once(path, reduce_to_pixels=100_000, max_decode_pixels=1_000_000)
            except ImageOverDecodeBudget as error:
                assert "2000x1500 = 3,000,000 pixels" in str(error) and "PNG" in str(error)
            else:
                raise AssertionError("a PNG over the decode budget was decoded")
        else:
            small = decode_once(path, reduce_to_pixels=200_000, max_decode_pixels=1_000_000)
            assert small.size[0] * small.size[1] <= 200_000 and small.drafted


def _video(path: Path, codec: str, width: int, height: int, pix_fmt: str) -> Path:
    import av
    import numpy as np

    frame = np.zeros((height, width, 3), np.uint8)
    frame[::50] = 200                                   # stripes: compresses to a few MB
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=1)
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    for _ in range(2):
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def test_videos_with_huge_frames_are_downsampled_or_named(tmp_path):
    # vpdq hashes every frame at full size: an 8000 x 8000 video cost 992 MiB.
    import pytest

    pytest.importorskip("vpdq")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    _video(evidence / "big.mp4", "mpeg4", 8000, 8000, "yuv420p")     # 64,000,000 pixels: decoded, hashed reduced
    _video(evidence / "wide.mov", "png", 9000, 8000, "rgb24")        # 72,000,000: over the budget
    case = tmp_path / "case"

    code, peak, _, stderr = triage_measured(tmp_path, "scan", str(evidence), "-o", str(case), "-q",
                                            "--workers", "2", "--only", "video_pdq")

    print(f"scan of 8000 x 8000 and 9000 x 8000 videos: peak RSS {peak >> 20} MiB")
    assert code == 1, stderr
    assert peak < RSS_LIMIT, f"peak RSS {peak >> 20} MiB"
    report = json.loads((case / "report.json").read_text(encoding="utf-8"))
    assert [w["message"] for w in report["warnings"]] == [
        "video not hashed: frames of 9000x8000 = 72,000,000 pixels, larger than 64,000,000 pixels, the most decoded"]
    assert "wide.mov" in report["warnings"][0]["locator"]
    videos = {f["locator"]: f["data"] for f in report["findings"] if f["kind"] == "perceptual.video"}
    assert list(videos) == ["evidence > /big.mp4"]
    assert videos["evidence > /big.mp4"]["downsampled_to"] == [4000, 4000]
    assert len(videos["evidence > /big.mp4"]["frames"]) == 2
