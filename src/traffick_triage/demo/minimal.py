"""The first, minimal demo case (kept for tests whose assertions are written
against it: report HTML, exchange formats): a laptop E01 with two partitions
and a deleted photo, and a phone export ZIP with geotagged photos, an SMS
database and contacts. Not reproducible byte for byte (the E01 header holds
the acquisition time); the training case is :mod:`traffick_triage.demo.case`."""

from __future__ import annotations

import datetime as _dt
import io
import os
import random
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from PIL import Image, ImageDraw

from .android import _sms_db

SECTOR = 512
FAKE_TIME = "1714564800"     # 2024-05-01T12:00:00Z: file systems built at a fixed time

CITIES = [  # (name, latitude, longitude, UTC offset)
    ("Kuwait City", 29.375859, 47.977405, "+03:00"),
    ("Amman", 31.953949, 35.910635, "+03:00"),
    ("Cairo", 30.044420, 31.235712, "+02:00"),
    ("Beirut", 33.893791, 35.501777, "+03:00"),
]


class DemoError(Exception):
    pass


def _run(*command: str, **kwargs) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, **kwargs)
    except FileNotFoundError as error:
        raise DemoError(f"{command[0]} is not installed (run scripts/install-system-deps.sh)") from error
    except subprocess.CalledProcessError as error:
        raise DemoError(f"{' '.join(command[:3])}... failed: {error.stderr.decode(errors='replace').strip()}") from error


def _dms(value: float) -> tuple:
    from PIL.TiffImagePlugin import IFDRational

    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 10000)
    return (IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 10000))


def synthetic_photo(rng: random.Random, city: tuple, taken: _dt.datetime, size=(640, 480)) -> bytes:
    """A benign generated 'photo' (gradient and shapes) with EXIF time, offset and GPS."""
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    top, bottom = [rng.randrange(256) for _ in range(3)], [rng.randrange(256) for _ in range(3)]
    for y in range(size[1]):
        mix = y / size[1]
        draw.line([(0, y), (size[0], y)], fill=tuple(int(t * (1 - mix) + b * mix) for t, b in zip(top, bottom)))
    for _ in range(6):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        radius = rng.randrange(20, 120)
        draw.ellipse([x - radius, y - radius, x + radius, y + radius],
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    name, latitude, longitude, offset = city
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "DemoCam", "Synthetic One"
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")     # DateTimeOriginal (local)
    exif_ifd[0x9011] = offset                                    # OffsetTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = ("N" if latitude >= 0 else "S"), _dms(latitude)
    gps[3], gps[4] = ("E" if longitude >= 0 else "W"), _dms(longitude)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif)
    return buffer.getvalue()


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, (int(FAKE_TIME), int(FAKE_TIME)))


def _ext4(path: Path, files: dict[str, bytes], delete: list[str], work: Path) -> None:
    staging = work / (path.name + ".d")
    _write_tree(staging, files)
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": FAKE_TIME}
    _run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-U", "0b0e0d0c-0000-4000-8000-000000000001",
         "-E", "hash_seed=0b0e0d0c-0000-4000-8000-000000000002,root_owner=0:0",
         "-d", str(staging), str(path), "8M", env=env)
    for name in delete:
        _run("debugfs", "-w", "-R", f"rm /{name}", str(path), env=env)


def _fat32(path: Path, files: dict[str, bytes], work: Path) -> None:
    with open(path, "wb") as stream:
        stream.truncate(40 << 20)
    _run("mkfs.vfat", "-F", "32", "-n", "WINDOWS", "-i", "0B0E0D0C", "--invariant", str(path))
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    staging = work / (path.name + ".d")
    _write_tree(staging, files)
    for relative in sorted(files):
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            subprocess.run(["mmd", "-i", str(path), "::/" + "/".join(parts[:depth])], env=env, capture_output=True)
        _run("mcopy", "-m", "-i", str(path), str(staging / relative), "::/" + relative, env=env)


def _disk(path: Path, volumes: list[Path]) -> None:
    start, starts = 2048, []
    for volume in volumes:
        starts.append(start)
        start += (volume.stat().st_size + SECTOR - 1) // SECTOR + 2048
    with open(path, "wb") as stream:
        stream.truncate((start + 2048) * SECTOR)
    script = "label: dos\nlabel-id: 0x0b0e0d0c\n" + "".join(
        f"start={s}, size={v.stat().st_size // SECTOR}, type={t}\n"
        for s, v, t in zip(starts, volumes, ("83", "0c")))
    _run("sfdisk", "--no-reread", "--no-tell-kernel", str(path), input=script.encode())
    with open(path, "r+b") as disk:
        for s, volume in zip(starts, volumes):
            disk.seek(s * SECTOR)
            disk.write(volume.read_bytes())


def build_minimal_demo(directory: str | Path, seed: int = 7) -> dict[str, Path]:
    """Build the demo evidence under ``directory/evidence``; returns the items."""
    root = Path(directory)
    evidence = root / "evidence"
    if evidence.exists():
        shutil.rmtree(evidence)
    evidence.mkdir(parents=True)
    rng = random.Random(seed)
    base = _dt.datetime(2024, 3, 1, 9, 0, 0)
    photos = {f"IMG_{1000 + i}.jpg": synthetic_photo(rng, CITIES[i % len(CITIES)], base + _dt.timedelta(days=3 * i))
              for i in range(6)}
    job_ad = ("Job offer abroad! Hotel work in Kuwait, high salary, travel paid, no experience needed.\n"
              "Call +965 5123 4567 or 0096551234567, e-mail recruit@example.org\n"
              "وظيفة في الخارج براتب عالٍ، السفر مدفوع. اتصل على 51234567\n").encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="triage-demo-") as temporary:
        work = Path(temporary)
        linux = work / "p1.ext4"
        _ext4(linux, {
            "home/amira/Pictures/" + name: data for name, data in list(photos.items())[:3]
        } | {"home/amira/Documents/offer.txt": job_ad, "home/amira/Documents/report.dll": photos["IMG_1003.jpg"],
             "home/amira/Pictures/deleted_IMG_1004.jpg": photos["IMG_1004.jpg"]},
            delete=["home/amira/Pictures/deleted_IMG_1004.jpg"], work=work)
        windows = work / "p2.fat"
        _fat32(windows, {"Windows/System32/drivers/etc/hosts": b"127.0.0.1 localhost\r\n",
                         "Windows/win.ini": b"; for 16-bit app support\r\n[fonts]\r\n"}, work)
        raw = work / "laptop.raw"
        _disk(raw, [linux, windows])
        _run("ewfacquire", "-u", "-q", "-t", str(evidence / "laptop"), "-c", "deflate:fast",
             "-C", "DEMO-2024-001", "-D", "Synthetic seized laptop (training data)", "-e", "Demo Examiner",
             "-E", "EV-LAPTOP-1", "-N", "synthetic data, no real material", "-m", "fixed", "-M", "physical",
             "-d", "sha1", str(raw))
        sms = work / "mmssms.db"
        start_ms = int(_dt.datetime(2024, 3, 2, 8, 0, tzinfo=_dt.timezone.utc).timestamp() * 1000)
        _sms_db(sms, [("+96551234567", start_ms, "The passport stays with me until the debt is paid.", 1),
                      ("+96551234567", start_ms + 3_600_000, "Ok. When do I travel?", 2),
                      ("+201001234567", start_ms + 86_400_000, "Send the address in Amman.", 1)])
        with zipfile.ZipFile(evidence / "phone.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            def add(name: str, data: bytes) -> None:
                info = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)

            for name, data in list(photos.items())[3:]:
                add("sdcard/DCIM/Camera/" + name, data)
            add("data/data/com.android.providers.telephony/databases/mmssms.db", sms.read_bytes())
            add("sdcard/Download/contacts.vcf", (
                "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:محمد العلي\r\nTEL;TYPE=CELL:+965 5123 4567\r\nEND:VCARD\r\n"
                "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Recruiter Sam\r\nTEL:+20 100 123 4567\r\n"
                "EMAIL:recruit@example.org\r\nEND:VCARD\r\n").encode("utf-8"))
    return {"laptop": evidence / "laptop.E01", "phone": evidence / "phone.zip"}
