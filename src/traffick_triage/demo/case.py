"""The training case "Operation Desert Lantern" (fictional; every person,
number, address and picture is synthetic): what is planted where, and the
answer key (answers.json) written from the plan, not from a scan."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import random
import shutil
import tempfile
import zipfile
from pathlib import Path

from . import android, disk, hashsets, media
from .disk import DemoError, Volume

CASE_NUMBER = "DEMO-2024-001"
EXAMINER = "Demo Examiner"
AGENCY = "Training (synthetic data)"
REGION = "KW"
EVIDENCE_IDS = ("LAPTOP-1", "PHONE-1")
PDQ_THRESHOLD = 31
UTC = _dt.timezone.utc

# (city, latitude, longitude, UTC offset in March 2024)
CITIES = {
    "Cairo": (30.044420, 31.235712, "+02:00"),
    "Amman": (31.953949, 35.910635, "+03:00"),
    "Beirut": (33.893791, 35.501777, "+02:00"),
    "Dubai": (25.204849, 55.270783, "+04:00"),
    "Kuwait City": (29.375859, 47.977405, "+03:00"),
}
# (city, day in March 2024, hour, minute) of the eight phone photos
PHOTO_PLAN = [("Cairo", 3, 10, 15), ("Cairo", 4, 18, 40), ("Amman", 8, 11, 5), ("Amman", 9, 20, 30),
              ("Beirut", 12, 9, 45), ("Dubai", 15, 14, 20), ("Kuwait City", 18, 16, 0), ("Kuwait City", 20, 22, 10)]

# Published test vectors: BIP-173 (Bech32 P2WPKH) and EIP-55 (checksummed
# Ethereum). The "broken" ones differ from a valid vector in one character.
WALLETS_VALID = ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                 "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                 "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"]
WALLETS_BROKEN = ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",        # last character 4 -> 5
                  "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FC"]        # EIP-55 vector ...C6FB, B -> C

ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _ms(when: _dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def _epoch(when: _dt.datetime) -> int:
    return int(when.timestamp())


def _valid_number(rng: random.Random, region: str, prefixes: tuple[str, ...], length: int) -> str:
    """A random national number of ``region`` that libphonenumber calls valid."""
    import phonenumbers

    while True:
        prefix = rng.choice(prefixes)
        national = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix)))
        parsed = phonenumbers.parse(national, region)
        if phonenumbers.is_valid_number(parsed):
            return national


def _e164(national: str, region: str) -> str:
    import phonenumbers

    return phonenumbers.format_number(phonenumbers.parse(national, region), phonenumbers.PhoneNumberFormat.E164)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_hashes(path: Path) -> dict[str, object]:
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            md5.update(chunk), sha1.update(chunk), sha256.update(chunk)
    return {"md5": md5.hexdigest(), "sha1": sha1.hexdigest(), "sha256": sha256.hexdigest(),
            "size": path.stat().st_size}


def build_case(root: Path, seed: int) -> dict[str, Path]:
    from ..perceptual import hamming_distance, pdq_hash

    evidence, sets = root / "evidence", root / "hashsets"
    for folder in (evidence, sets):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    answers_path = root / "answers.json"
    rng = random.Random(seed)

    # -- people and numbers (fictional) ----------------------------------------------------------
    office = _valid_number(rng, "KW", ("5", "6", "9"), 8)        # the number followed across devices
    suspect = _valid_number(rng, "KW", ("5", "6", "9"), 8)
    victims = [
        {"name": "منى حسن", "latin": "Mona Hassan", "region": "EG",
         "national": "0" + _valid_number(rng, "EG", ("10", "11", "12"), 10), "email": "mona.hassan@example.org"},
        {"name": "ليلى إبراهيم", "latin": "Layla Ibrahim", "region": "JO",
         "national": "0" + _valid_number(rng, "JO", ("77", "78", "79"), 9), "email": "layla.ibrahim@example.org"},
        {"name": "فاطمة علي", "latin": "Fatima Ali", "region": "LB",
         "national": "0" + _valid_number(rng, "LB", ("3",), 7), "email": "fatima.ali@example.org"},
    ]
    for victim in victims:
        victim["e164"] = _e164(victim["national"], victim["region"])
    office_e164 = _e164(office, "KW")
    cc = office_e164[:4]                                         # +965
    o1, o2 = office[:4], office[4:]
    office_forms = {
        "job_ad_en": [f"{cc} {o1} {o2}", f"00{cc[1:]}{office}", f"({cc}) {o1}-{o2}"],
        "job_ad_ar": [f"{o1} {o2}".translate(ARABIC_DIGITS)],
        "contacts2": [f"{o1} {o2}"],
        "calllog": [office_e164],
        "mmssms": [office_e164],
        "vcard": [f"{cc} {o1}-{o2}"],
        "ledger": [f"{cc}-{o1}-{o2}"],
    }
    day = lambda d, h=9, m=0, tz=UTC: _dt.datetime(2024, 3, d, h, m, tzinfo=tz)  # noqa: E731

    # -- images -------------------------------------------------------------------------------------
    photo_seeds = [rng.randrange(1 << 30) for _ in PHOTO_PLAN]
    photos = []
    for index, ((city, d, h, m), photo_seed) in enumerate(zip(PHOTO_PLAN, photo_seeds)):
        latitude, longitude, offset = CITIES[city]
        latitude = round(latitude + rng.uniform(-0.02, 0.02), 6)
        longitude = round(longitude + rng.uniform(-0.02, 0.02), 6)
        minute = (m + rng.randrange(0, 15)) % 60
        local = _dt.datetime(2024, 3, d, h, minute)
        tz = _dt.timezone(_dt.timedelta(hours=int(offset[:3]), minutes=int(offset[4:])))
        data = media.geotagged_photo(photo_seed, local, offset, latitude, longitude)
        photos.append({"id": f"P{index + 1}", "city": city, "latitude": media.dms_value(latitude),
                       "longitude": media.dms_value(longitude), "local_time": local.isoformat(), "offset": offset,
                       "utc_time": local.replace(tzinfo=tz).astimezone(UTC).isoformat(),
                       "name": local.strftime("IMG_%Y%m%d_%H%M%S.jpg"), "data": data})
    known = []
    for index in range(1, 5):
        # A stand-in must keep all four variants well inside the threshold
        # (margin 8 bits), so the key holds whatever the seed: draw until one does.
        while True:
            image = media.shapes(rng.randrange(1 << 30))
            data = media.jpeg(image)
            pdq = pdq_hash(data)
            if pdq.quality >= 80 and all(
                    hamming_distance(pdq_hash(media.variant(image, kind)).hash, pdq.hash) <= PDQ_THRESHOLD - 8
                    for kind in media.VARIANTS):
                break
        known.append({"id": f"K{index}", "data": data, "pdq": pdq.hash, "quality": pdq.quality,
                      "file_name": f"training-standin-{index}.jpg", "image": image})
    for photo in photos:
        pdq = pdq_hash(photo["data"]).hash
        nearest = min(hamming_distance(pdq, k["pdq"]) for k in known)
        if nearest <= PDQ_THRESHOLD:                 # never happens with shapes images; the key would lie
            raise DemoError(f"seed {seed}: photo {photo['id']} is within PDQ {nearest} of a known image")

    # -- documents ----------------------------------------------------------------------------------
    mona, layla, fatima = victims
    job_ad_en = (
        "URGENT HIRING - HOTEL STAFF FOR KUWAIT\n\n"
        "Work abroad in a 5-star hotel. High salary, travel paid, free accommodation,\n"
        "no experience needed. Women 18-30. We keep your passport safe during the contract.\n\n"
        f"Call or WhatsApp: {office_forms['job_ad_en'][0]}\n"
        f"From Egypt or Jordan dial {office_forms['job_ad_en'][1]}, office line {office_forms['job_ad_en'][2]}\n"
        "E-mail your photo and passport copy to jobs.gulfhotels@example.com\n").encode("utf-8")
    job_ad_ar = (
        "مطلوب موظفات فنادق للعمل في الكويت\n"
        "راتب مغري، بدون خبرة، التذكرة على حساب الشركة، سكن مجاني.\n"
        f"للتواصل واتساب: {office_forms['job_ad_ar'][0]}\n"
        "أرسلي صورة جواز السفر إلى jobs.gulfhotels@example.com\n").encode("utf-8")
    payments = (
        "Payments received (do not share)\n"
        f"{mona['latin']} - deposit 300 USD - {WALLETS_VALID[0]}\n"
        f"{layla['latin']} - visa fee - {WALLETS_VALID[1]}\n"
        f"agent commission - {WALLETS_VALID[2]}\n"
        f"old address (typo?) {WALLETS_BROKEN[0]}\n"
        f"old address (typo?) {WALLETS_BROKEN[1]}\n"
        "contact: sami.haddad@example.net\n").encode("utf-8")
    todo = (
        "To do\r\n"
        f"- call {mona['latin']} {mona['e164'][:3]} {mona['national'][1:]} about the ticket\r\n"
        f"- {layla['latin']}: 00{layla['e164'][1:]}, passport copy missing\r\n"
        f"- {fatima['latin']}: {fatima['e164']} email {fatima['email']}\r\n").encode("utf-8")
    ledger = (
        "name,debt_usd,note\n"
        f"{mona['latin']},1500,سداد الدين قبل السفر\n"
        f"{layla['latin']},2200,حجز الجواز حتى السداد\n"
        f"office,{office_forms['ledger'][0]},commission\n").encode("utf-8")
    system_files = {
        "Windows/win.ini": b"; for 16-bit app support\r\n[fonts]\r\n[extensions]\r\n[mci extensions]\r\n[files]\r\n",
        "Windows/system.ini": b"; for 16-bit app support\r\n[386Enh]\r\nwoafont=dosapp.fon\r\n[drivers]\r\nwave=mmdrv.dll\r\n",
        "Windows/System32/drivers/etc/hosts": b"# Copyright (c) 1993-2009 Microsoft Corp. (synthetic training copy)\r\n#\r\n127.0.0.1       localhost\r\n::1             localhost\r\n",
        "Windows/System32/drivers/etc/networks": b"# synthetic training copy\r\nloopback                 127\r\ncampus                   284\r\n",
    }

    # -- the laptop ------------------------------------------------------------------------------------
    k1, k2, k3, k4 = known
    home = "home/sami"
    ext4 = Volume("SAMI-LINUX", "ext4", 16)
    by_id = {p["id"]: p for p in photos}
    for pid in ("P1", "P3", "P7"):
        ext4.add(f"{home}/Pictures/{by_id[pid]['name']}", by_id[pid]["data"], _epoch(day(21, 10)))
    ext4.add(f"{home}/Documents/receipt.txt", by_id["P5"]["data"], _epoch(day(21, 10, 5)))      # a JPEG named .txt
    ext4.add(f"{home}/Documents/job_ad_en.txt", job_ad_en, _epoch(day(2, 8, 30)))
    ext4.add(f"{home}/Documents/payments.txt", payments, _epoch(day(19, 23, 5)))
    k2_resized = media.variant(k2["image"], "resized")
    ext4.add(f"{home}/Downloads/small_0317.jpg", k2_resized, _epoch(day(17, 12)))
    deleted_k3 = f"{home}/Pictures/.private/IMG_0042.jpg"
    ext4.add(deleted_k3, k3["data"], _epoch(day(16, 1, 12)))
    ext4.delete.append(deleted_k3)

    fat32 = Volume("WINDOWS", "fat32", 40, volume_id="5A4D3C2B", partition_type="0c")
    for relative, data in system_files.items():
        fat32.add(relative, data, _epoch(_dt.datetime(2023, 11, 14, 9, 0, tzinfo=UTC)))
    fat32.add("Users/Sami/Desktop/todo.txt", todo, _epoch(day(10, 19, 30)))
    fat32.add("Users/Sami/AppData/Local/Temp/update.dll", k1["data"], _epoch(day(14, 2, 2)))  # a JPEG named .dll

    fat16 = Volume("BACKUP", "fat16", 16, volume_id="1A2B3C4D", partition_type="06")
    k4_cropped = media.variant(k4["image"], "cropped")
    fat16.add("old/crop_0004.jpg", k4_cropped, _epoch(day(18, 20)))
    fat16.add("ledger.csv", ledger, _epoch(day(19, 22)))
    fat16.delete.append("ledger.csv")
    # FAT marks a deleted entry by overwriting the first byte of its short
    # name; The Sleuth Kit shows that byte as "_" (ledger.csv -> _edger.csv).
    fat_deleted = {p: "/".join(p.split("/")[:-1] + ["_" + p.split("/")[-1][1:]]) for p in fat16.delete}

    with tempfile.TemporaryDirectory(prefix="triage-demo-") as temporary:
        work = Path(temporary)
        images = []
        for number, volume in enumerate((ext4, fat32, fat16), start=1):
            image = work / f"p{number}.img"
            (disk.build_ext4 if volume.fs == "ext4" else disk.build_fat)(image, volume, work)
            images.append((image, volume.partition_type))
        raw = work / "laptop.raw"
        starts = disk.build_disk(raw, images)
        raw_hashes = _file_hashes(raw)
        e01 = disk.acquire_e01(raw, evidence / "laptop", CASE_NUMBER, "Seized laptop, Operation Desert Lantern "
                               "(TRAINING: synthetic data)", EXAMINER, "EV-LAPTOP-1",
                               "synthetic training data, no real material")
        partitions = [{"label": f"p{n}", "file_system": {"ext4": "ext4", "fat32": "FAT32", "fat16": "FAT16"}[v.fs],
                       "volume_label": v.label, "offset": s * disk.SECTOR, "length": v.size_mib << 20}
                      for n, (v, s) in enumerate(zip((ext4, fat32, fat16), starts), start=1)]

        # -- the phone -----------------------------------------------------------------------------------
        contacts = [
            {"name": "مكتب أبو خالد", "phones": office_forms["contacts2"], "updated_ms": _ms(day(1, 12))},
            {"name": mona["name"], "phones": [mona["national"]], "emails": [mona["email"]], "updated_ms": _ms(day(2, 9))},
            {"name": layla["name"], "phones": [layla["e164"]], "updated_ms": _ms(day(6, 15))},
            {"name": fatima["name"], "phones": [fatima["e164"]], "updated_ms": _ms(day(11, 8)), "deleted": True},
            {"name": "Sami (work)", "phones": [_e164(suspect, "KW")], "updated_ms": _ms(day(1, 12, 5))},
        ]
        calls = [
            {"number": office_forms["calllog"][0], "date_ms": _ms(day(2, 8, 45)), "duration": 312, "type": 2},
            {"number": mona["e164"], "date_ms": _ms(day(3, 11)), "duration": 95, "type": 1, "name": mona["name"],
             "countryiso": "EG"},
            {"number": office_forms["calllog"][0], "date_ms": _ms(day(9, 21)), "duration": 0, "type": 3},
            {"number": layla["e164"], "date_ms": _ms(day(9, 21, 30)), "duration": 180, "type": 2,
             "name": layla["name"], "countryiso": "JO"},
            {"number": office_forms["calllog"][0], "date_ms": _ms(day(18, 13, 10)), "duration": 640, "type": 1},
        ]
        messages = [
            (office_forms["mmssms"][0], _ms(day(2, 9, 0)), "Two new girls from Cairo next week. Hold your passport "
                                                         "and their passports at the office.", 1),
            (office_forms["mmssms"][0], _ms(day(2, 9, 12)), "Ok. Tickets are booked.", 2),
            (mona["e164"], _ms(day(3, 12, 0)), "متى موعد السفر؟ وهل السكن مجاني فعلا؟", 1),
            (mona["e164"], _ms(day(3, 12, 20)), "نعم، والتذكرة على حساب الشركة. أرسلي صورة الجواز.", 2),
            (office_forms["mmssms"][0], _ms(day(18, 13, 30)), "Send the money to the usual wallet.", 1),
        ]
        vcard_cards = [
            {"name": "أبو خالد", "phones": office_forms["vcard"], "note": "مكتب التوظيف"},
            {"name": mona["name"], "phones": [f"{mona['e164'][:3]} {mona['national'][1:]}"], "emails": [mona["email"]]},
            {"name": "Hotel Jobs Office", "emails": ["jobs.gulfhotels@example.com"]},
        ]
        for name, builder, rows in (("contacts2.db", android.contacts2_db, contacts),
                                    ("calllog.db", android.calllog_db, calls),
                                    ("mmssms.db", android._sms_db, messages)):
            builder(work / name, rows)
        providers = "data/data/com.android.providers"
        whatsapp_images = "sdcard/Android/media/com.whatsapp/WhatsApp/Media/WhatsApp Images"
        members: dict[str, bytes] = {
            f"{providers}.contacts/databases/contacts2.db": (work / "contacts2.db").read_bytes(),
            f"{providers}.contacts/databases/calllog.db": (work / "calllog.db").read_bytes(),
            f"{providers}.telephony/databases/mmssms.db": (work / "mmssms.db").read_bytes(),
            "sdcard/Download/contacts.vcf": android.vcards(vcard_cards),
            "sdcard/Documents/job_ad_ar.txt": job_ad_ar,
            "sdcard/Download/photo_0317.jpg": k2["data"],
            "sdcard/Pictures/Edited/IMG_0042_bright.jpg": media.variant(k3["image"], "brightened"),
            f"{whatsapp_images}/IMG-20240318-WA0004.jpg": media.variant(k4["image"], "reencoded"),
        }
        for photo in photos:
            members[f"sdcard/DCIM/Camera/{photo['name']}"] = photo["data"]
        phone = evidence / "phone.zip"
        with zipfile.ZipFile(phone, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(members):
                info = zipfile.ZipInfo(name, date_time=(2024, 3, 21, 12, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                info.create_system = 3
                archive.writestr(info, members[name])

    # -- hash sets -------------------------------------------------------------------------------------
    vics_name, plain_name, hashdeep_name, pdq_name, nsrl_name = (
        "known-vics.json", "known-plain.txt", "known.hashdeep", "known-pdq.txt", "nsrl-rds3-training.db")
    hashsets.write_vics(sets / vics_name, [{"id": n, "data": k["data"], "pdq": k["pdq"], "category": 1,
                                           "series": "TRAINING-STANDIN-A", "file_name": k["file_name"]}
                                          for n, k in enumerate(known, start=1)])
    k1d, k2d, k3d = (hashsets.digests(k["data"]) for k in (k1, k2, k3))
    hashsets.write_plain(sets / plain_name, [(k1d["md5"], k1["file_name"]), (k2d["sha1"], k2["file_name"]),
                                             (k3d["sha256"], k3["file_name"])])
    hashsets.write_hashdeep(sets / hashdeep_name, [(k1["data"], "known/" + k1["file_name"]),
                                                   (k3["data"], "known/" + k3["file_name"])])
    hashsets.write_pdq(sets / pdq_name, [(k["pdq"], k["quality"], k["file_name"]) for k in known])
    hashsets.write_nsrl(sets / nsrl_name, [(data, name.rsplit("/", 1)[-1]) for name, data in system_files.items()])
    set_files = [vics_name, plain_name, hashdeep_name, pdq_name, nsrl_name]

    # -- the answer key -------------------------------------------------------------------------------
    laptop_loc = lambda part, path: f"laptop.E01 > {part} > /{path}"  # noqa: E731
    phone_loc = lambda path: f"phone.zip > {path}"  # noqa: E731
    exact = {
        laptop_loc("p2", "Users/Sami/AppData/Local/Temp/update.dll"): ("K1", [vics_name, plain_name, hashdeep_name]),
        phone_loc("sdcard/Download/photo_0317.jpg"): ("K2", [vics_name, plain_name]),
        laptop_loc("p1", deleted_k3): ("K3", [vics_name, plain_name, hashdeep_name]),
    }
    variants = {
        laptop_loc("p1", f"{home}/Downloads/small_0317.jpg"): ("K2", "resized", k2_resized),
        phone_loc("sdcard/Pictures/Edited/IMG_0042_bright.jpg"): ("K3", "brightened",
                                                                  members["sdcard/Pictures/Edited/IMG_0042_bright.jpg"]),
        phone_loc(f"{whatsapp_images}/IMG-20240318-WA0004.jpg"): ("K4", "reencoded",
                                                                  members[f"{whatsapp_images}/IMG-20240318-WA0004.jpg"]),
        laptop_loc("p3", "old/crop_0004.jpg"): ("K4", "cropped", k4_cropped),
    }
    known_by_id = {k["id"]: k for k in known}
    perceptual = {}
    for locator, (kid, _sets) in exact.items():
        perceptual[locator] = {"known": kid, "variant": "exact copy", "pdq_distance": 0,
                               "pdq": known_by_id[kid]["pdq"], "sets": [vics_name, pdq_name]}
    for locator, (kid, kind, data) in variants.items():
        distance = hamming_distance(pdq_hash(data).hash, known_by_id[kid]["pdq"])
        if distance > PDQ_THRESHOLD:
            raise DemoError(f"seed {seed}: the {kind} variant of {kid} is PDQ {distance} away (> {PDQ_THRESHOLD})")
        perceptual[locator] = {"known": kid, "variant": kind, "pdq_distance": distance, "pdq": pdq_hash(data).hash,
                               "sets": [vics_name, pdq_name], **hashsets.digests(data)}

    gps = []
    for photo in photos:
        gps.append({**{k: v for k, v in photo.items() if k not in ("data", "name")},
                    "locators": [phone_loc(f"sdcard/DCIM/Camera/{photo['name']}")]})
    by_photo = {g["id"]: g for g in gps}
    for pid in ("P1", "P3", "P7"):
        by_photo[pid]["locators"].insert(0, laptop_loc("p1", f"{home}/Pictures/{by_id[pid]['name']}"))
    by_photo["P5"]["locators"].insert(0, laptop_loc("p1", f"{home}/Documents/receipt.txt"))

    office_locators = [
        laptop_loc("p1", f"{home}/Documents/job_ad_en.txt"),
        laptop_loc("p3", fat_deleted["ledger.csv"]),
        phone_loc(f"{providers}.contacts/databases/calllog.db"),
        phone_loc(f"{providers}.contacts/databases/contacts2.db"),
        phone_loc(f"{providers}.telephony/databases/mmssms.db"),
        phone_loc("sdcard/Documents/job_ad_ar.txt"),
        phone_loc("sdcard/Download/contacts.vcf"),
    ]
    laptop_files = ([laptop_loc("p1", p) for p in ext4.files] + [laptop_loc("p2", p) for p in fat32.files]
                    + [laptop_loc("p3", p) for p in fat16.files])
    label_entries = 2           # each FAT volume's label entry, which The Sleuth Kit lists as a file
    deleted = [laptop_loc("p1", p) for p in ext4.delete] + [laptop_loc("p3", fat_deleted[p]) for p in fat16.delete]
    e01_hashes = _file_hashes(e01)
    phone_hashes = _file_hashes(phone)
    k3_digests = hashsets.digests(k3["data"])
    answers = {
        "answers_version": 1,
        "seed": seed,
        "case": {"case_number": CASE_NUMBER, "examiner": EXAMINER, "agency": AGENCY, "region": REGION,
                 "evidence_ids": {"laptop.E01": EVIDENCE_IDS[0], "phone.zip": EVIDENCE_IDS[1]},
                 "training": True},
        "evidence": {
            "laptop.E01": {"file": e01_hashes, "media": raw_hashes, "stored_md5": raw_hashes["md5"],
                           "stored_sha1": raw_hashes["sha1"], "partition_scheme": "MBR", "partitions": partitions,
                           "acquisition_date": "Wed May  1 12:00:00 2024"},
            "phone.zip": {"file": phone_hashes, "members": len(members)},
        },
        "counts": {
            "laptop_files": len(laptop_files) + label_entries, "laptop_deleted_files": len(deleted),
            "phone_files": len(members), "planted_files": len(laptop_files) + len(members),
            "volume_label_entries": label_entries,
            "files": len(laptop_files) + label_entries + len(members), "deleted_files": len(deleted),
            "known_bad_files": len(exact), "known_good_files": len(system_files),
            "perceptual_matches": len(perceptual), "geotagged_items": sum(len(g["locators"]) for g in gps),
            "photos": len(photos),
        },
        "deleted_files": sorted(deleted),
        "deleted_files_original_names": sorted([laptop_loc("p1", p) for p in ext4.delete]
                                               + [laptop_loc("p3", p) for p in fat16.delete]),
        "known_images": [{"id": k["id"], "file_name": k["file_name"], "pdq": k["pdq"], "pdq_quality": k["quality"],
                          **hashsets.digests(k["data"])} for k in known],
        "exact_matches": {loc: {"known": kid, "sets": sorted(s)} for loc, (kid, s) in exact.items()},
        "deleted_known_image": {"locator": laptop_loc("p1", deleted_k3), "known": "K3", **k3_digests},
        "perceptual_matches": perceptual,
        "pdq_threshold": PDQ_THRESHOLD,
        "renamed_images": sorted([laptop_loc("p2", "Users/Sami/AppData/Local/Temp/update.dll"),
                                  laptop_loc("p1", f"{home}/Documents/receipt.txt")]),
        "known_good_files": sorted(laptop_loc("p2", p) for p in system_files),
        "gps_points": gps,
        "followed_number": {"e164": office_e164, "as_written": office_forms, "locators": sorted(office_locators),
                            "evidence_ids": list(EVIDENCE_IDS), "contact_name": "مكتب أبو خالد",
                            "calls": sum(1 for c in calls if c["number"] == office_e164),
                            "messages": sum(1 for m in messages if m[0] == office_e164)},
        "victims": [{k: v for k, v in victim.items() if k != "region"} for victim in victims],
        "wallets": {"valid": WALLETS_VALID, "broken": WALLETS_BROKEN,
                    "locator": laptop_loc("p1", f"{home}/Documents/payments.txt")},
        "emails": sorted({"jobs.gulfhotels@example.com", "sami.haddad@example.net",
                          mona["email"], fatima["email"]}),
        "hashsets": {name: _sha256(sets / name) for name in set_files},
        "hashset_formats": {vics_name: "vics-json", plain_name: "plain", hashdeep_name: "hashdeep",
                            pdq_name: "pdq", nsrl_name: "nsrl-rds3"},
    }
    answers_path.write_text(json.dumps(answers, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                            encoding="utf-8")
    return {"laptop": e01, "phone": phone, "hashsets": sets, "answers": answers_path}


def hashset_paths(root: Path) -> list[Path]:
    """The case's hash sets, in the order the scan loads them."""
    folder = Path(root) / "hashsets"
    return [folder / name for name in ("known-vics.json", "known-plain.txt", "known.hashdeep", "known-pdq.txt",
                                       "nsrl-rds3-training.db")]
