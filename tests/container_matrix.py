"""The container matrix: one synthetic phone tree that holds a real database
for every phone / SQLite plugin at its on-device path (with the -wal/-shm
the corpus keeps beside it), built into every kind of container the tool
reads. The databases are read in place from ../shared/corpus and copied only
into the temporary trees and images built here, never into the repository.

``FIXTURES`` is the one table of what each plugin is proven on; the
meta-test compares it with the plugins the registry loads.
"""

from __future__ import annotations

import hashlib
import plistlib
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from evidence_builders import (make_e01, make_ext4, make_fat32, make_partitioned_disk, make_tar, make_zip, run,
                               write_tree)

SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
ANDROID = "devices/android_fs_legacy/"
IOS = "devices/ios_fs_josh15/"
WHATSAPP_GROUP = "private/var/mobile/Containers/Shared/AppGroup/694FBBC5-2E69-480A-A25B-FF8CC038BEF8/"
TEAMS_DB = ("private/var/mobile/Containers/Shared/AppGroup/E12BE95F-EA64-4826-8A15-DB2CF818F268/SkypeSpacesDogfood/"
            "148AB670-2197-4B7F-AD74-206D4AB2ED62/SkypeSpacesDogfood-9188040d-6c67-4c5b-b112-36a304b66dad.sqlite")
# The iOS web caches of Discord and Burner: the matrix carries Cache.db and its
# companions (the responses stored inline in it); fsCachedData/ stays in the folder tests.
DISCORD_CACHE = ("private/var/mobile/Containers/Data/Application/FC296D69-95CC-448D-8C8B-BBCFADD48A2F/Library/Caches/"
                 "com.hammerandchisel.discord/")
BURNER_CACHE = ("private/var/mobile/Containers/Data/Application/43637BC0-E3FA-4375-9A56-B85713075C0D/Library/Caches/"
                "com.adhoclabs.burner/")
NOTES_GROUP = "private/var/mobile/Containers/Shared/AppGroup/B120CD27-5591-4ED6-A1EC-E73CFFB4F8D3/"
ATTD = "data/data/de.seemoo.at_tracking_detection.release/databases/attd_db"
FILES_GO = "data/data/com.google.android.apps.nbu.files/databases/files_master_database"
GMAIL_SEARCH = ("private/var/mobile/Containers/Data/Application/EBF32AAA-D9C0-4041-B54B-CEED246823C3/Library/"
                "Application Support/data/thisisdfir@gmail.com/searchsqlitedb")
BEREAL_FRIENDS = ("private/var/mobile/Containers/Data/Application/6A9FBCE8-7B19-4741-9A65-2EC98E2EEED2/Library/Caches/"
                  "disk-bereal-RelationshipsFriendsListManager/5D0D66C27E420224031B3AE11392258F")


@dataclass(frozen=True)
class MatrixFixture:
    """One plugin's fixture: the file at ``device_path`` inside the phone
    tree comes from ``corpus_path`` (relative to shared/corpus), or, where
    the corpus has no such database, is built by ``SYNTHETIC[device_path]``
    (``reason`` says why). Companions beside it in the corpus travel along."""

    plugin: str
    device_path: str
    corpus_path: str | None
    reason: str = ""


FIXTURES: tuple[MatrixFixture, ...] = (
    MatrixFixture("android_calllog", "data/data/com.android.providers.contacts/databases/calllog.db",
                  ANDROID + "data/data/com.android.providers.contacts/databases/calllog.db"),
    MatrixFixture("android_contacts2", "data/data/com.android.providers.contacts/databases/contacts2.db",
                  ANDROID + "data/data/com.android.providers.contacts/databases/contacts2.db"),
    MatrixFixture("android_mmssms", "data/data/com.android.providers.telephony/databases/mmssms.db",
                  ANDROID + "data/data/com.android.providers.telephony/databases/mmssms.db"),
    MatrixFixture("whatsapp_android_msgstore", "data/data/com.whatsapp/databases/msgstore.db",
                  ANDROID + "data/data/com.whatsapp/databases/msgstore.db"),
    MatrixFixture("whatsapp_android_contacts", "data/data/com.whatsapp/databases/wa.db",
                  ANDROID + "data/data/com.whatsapp/databases/wa.db"),
    MatrixFixture("ios_sms", "private/var/mobile/Library/SMS/sms.db",
                  IOS + "private/var/mobile/Library/SMS/sms.db"),
    MatrixFixture("ios_addressbook", "private/var/mobile/Library/AddressBook/AddressBook.sqlitedb",
                  IOS + "private/var/mobile/Library/AddressBook/AddressBook.sqlitedb"),
    MatrixFixture("whatsapp_ios_chatstorage", WHATSAPP_GROUP + "ChatStorage.sqlite",
                  IOS + WHATSAPP_GROUP + "ChatStorage.sqlite"),
    MatrixFixture("whatsapp_ios_contacts", WHATSAPP_GROUP + "ContactsV2.sqlite",
                  IOS + WHATSAPP_GROUP + "ContactsV2.sqlite"),
    MatrixFixture("whatsapp_ios_callhistory", WHATSAPP_GROUP + "CallHistory.sqlite",
                  IOS + WHATSAPP_GROUP + "CallHistory.sqlite"),
    MatrixFixture("ios_callhistory", "private/var/mobile/Library/CallHistoryDB/CallHistory.storedata", None,
                  reason="no CallHistory.storedata in the corpus (iOS 15's is not among the published cuts): "
                         "built here in WAL mode, every row in the -wal only, so a lost -wal shows as 0 calls"),
    # The plugin kit's artifacts (issue 18).
    MatrixFixture("chromium_history", "data/data/com.android.chrome/app_chrome/Default/History",
                  ANDROID + "data/data/com.android.chrome/app_chrome/Default/History"),
    MatrixFixture("android_downloads", "data/data/com.android.providers.downloads/databases/downloads.db",
                  ANDROID + "data/data/com.android.providers.downloads/databases/downloads.db"),
    MatrixFixture("ios_accounts", "private/var/mobile/Library/Accounts/Accounts3.sqlite",
                  IOS + "private/var/mobile/Library/Accounts/Accounts3.sqlite"),
    MatrixFixture("ios_notes", NOTES_GROUP + "NoteStore.sqlite", IOS + NOTES_GROUP + "NoteStore.sqlite"),
    MatrixFixture("ios_wifi", "private/var/preferences/com.apple.wifi.known-networks.plist",
                  IOS + "private/var/preferences/com.apple.wifi.known-networks.plist"),
    # Messaging apps (issue 18).
    MatrixFixture("burner_android", "data/data/com.adhoclabs.burner/databases/burners.db",
                  ANDROID + "data/data/com.adhoclabs.burner/databases/burners.db"),
    MatrixFixture("tango_android", "data/data/com.sgiggle.production/files/tc.db",
                  ANDROID + "data/data/com.sgiggle.production/files/tc.db"),
    MatrixFixture("viber_android", "data/data/com.viber.voip/databases/viber_data",
                  ANDROID + "data/data/com.viber.voip/databases/viber_data"),
    MatrixFixture("teams_ios", TEAMS_DB, IOS + TEAMS_DB),
    MatrixFixture("discord_ios", DISCORD_CACHE + "Cache.db", IOS + DISCORD_CACHE + "Cache.db"),
    MatrixFixture("burner_ios", BURNER_CACHE + "Cache.db", IOS + BURNER_CACHE + "Cache.db"),
    # More kit artifacts (tests/test_real_devices_more.py).
    MatrixFixture("ios_cellular", "private/var/wireless/Library/Preferences/com.apple.commcenter.plist",
                  IOS + "private/var/wireless/Library/Preferences/com.apple.commcenter.plist"),
    MatrixFixture("ios_voicemail", "private/var/mobile/Library/Voicemail/voicemail.db", None,
                  reason="the corpus voicemail.db holds no message: the same file with one planted row"),
    MatrixFixture("android_tracker_detection", ATTD, ANDROID + ATTD),
    MatrixFixture("android_wellbeing", "data/data/com.google.android.apps.wellbeing/databases/app_usage",
                  ANDROID + "data/data/com.google.android.apps.wellbeing/databases/app_usage"),
    MatrixFixture("android_files_go", FILES_GO, ANDROID + FILES_GO),
    MatrixFixture("ios_bereal", BEREAL_FRIENDS, IOS + BEREAL_FRIENDS),
    MatrixFixture("ios_gmail_search", GMAIL_SEARCH, IOS + GMAIL_SEARCH),
    # Reads every SQLite database by MIME type; proven here on the real sms.db (and all the others).
    MatrixFixture("identifiers", "private/var/mobile/Library/SMS/sms.db",
                  IOS + "private/var/mobile/Library/SMS/sms.db"),
    MatrixFixture("vcard", "data/media/0/Download/contacts.vcf", None,
                  reason="no vCard in the corpus: two benign synthetic cards"),
)

# Fields a plugin reads from the database's on-device folder (the browser's
# package or install folder, the profile folder): the flat NTFS, which
# cannot make folders, rightly gives other values for them.
FOLDER_FIELDS = {"chromium_history": ("source_app", "profile")}

# Not a plugin fixture: a database in PERSIST journal mode (Android's old
# default) with the -journal it leaves, so every route must find a -journal too.
JOURNAL_DB = "data/data/com.example.notes/databases/notes.db"

# iTunes backup domains of the on-device folders (as iOS backs them up); any
# other file (the Android ones) is carried under RootDomain with its full path.
BACKUP_DOMAINS = (
    ("private/var/mobile/Containers/Shared/AppGroup/694FBBC5-2E69-480A-A25B-FF8CC038BEF8/",
     "AppDomainGroup-group.net.whatsapp.WhatsApp.shared"),
    ("private/var/mobile/", "HomeDomain"),
)


# -- synthetic members ----------------------------------------------------------------------------

CALLHISTORY_SCHEMA = """
CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZANSWERED INTEGER,
    ZCALLTYPE INTEGER, ZDISCONNECTED_CAUSE INTEGER, ZFACE_TIME_DATA INTEGER, ZNUMBER_AVAILABILITY INTEGER,
    ZORIGINATED INTEGER, ZREAD INTEGER, ZDATE TIMESTAMP, ZDURATION FLOAT, ZDEVICE_ID VARCHAR,
    ZISO_COUNTRY_CODE VARCHAR, ZLOCATION VARCHAR, ZNAME VARCHAR, ZSERVICE_PROVIDER VARCHAR,
    ZUNIQUE_ID VARCHAR, ZADDRESS BLOB);
"""
CALLHISTORY_ROWS = [
    (1, 2, 1, 1, 1, 0, None, 0, 0, 1, 700000000.5, 61.25, None, "kw", "Kuwait", "Test Caller",
     "com.apple.Telephony", "U1", b"+965 5555 0101"),
    (2, 2, 1, 0, 1, 0, None, 0, 1, 1, 700000100.0, 0.0, None, "kw", None, None,
     "com.apple.Telephony", "U2", "+96555550102"),
    (3, 2, 1, 1, 8, 0, None, 0, 0, 1, 700000300.0, 12.0, None, "kw", None, None,
     "com.apple.FaceTime", "U3", "friend@example.org"),
]


def wal_only_callhistory(folder: Path) -> dict[str, bytes]:
    """A CallHistory.storedata whose rows are all in its -wal: the database
    is copied while the writer still holds it open, before any checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "CallHistory.storedata"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.executescript(CALLHISTORY_SCHEMA)
    connection.executemany(f"INSERT INTO ZCALLRECORD VALUES ({', '.join('?' * 19)})", CALLHISTORY_ROWS)
    connection.commit()
    members = {suffix: Path(f"{path}{suffix}").read_bytes() for suffix in ("", "-wal", "-shm")}
    connection.close()
    return members


def persist_journal_db(folder: Path) -> dict[str, bytes]:
    """A small database in PERSIST journal mode and the (zeroed, not hot)
    -journal its last transaction left beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "notes.db"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=PERSIST")
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    connection.execute("INSERT INTO notes (body) VALUES ('call the office on +965 5555 0199')")
    connection.commit()
    connection.close()
    return {suffix: Path(f"{path}{suffix}").read_bytes() for suffix in ("", "-journal")}


VCARD = (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Test Contact One\r\nTEL;TYPE=CELL:+965 5555 0111\r\n"
         b"EMAIL:one@example.org\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Test Contact Two\r\n"
         b"TEL:+44 20 7946 0123\r\nEND:VCARD\r\n")


# -- the tree --------------------------------------------------------------------------------------


def planted_voicemail(real: Path, folder: Path) -> bytes:
    """The corpus voicemail.db (no message) with one planted message, on a copy."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "voicemail.db"
    copy.write_bytes(real.read_bytes())
    connection = sqlite3.connect(copy)
    connection.execute("INSERT INTO voicemail (ROWID, remote_uid, date, sender, duration, trashed_date, flags) "
                       "VALUES (1, 1, 1684331273, '+15555550100', 21, 0, 0)")
    connection.commit()
    connection.close()
    return copy.read_bytes()


def phone_tree(corpus: Path, scratch: Path) -> dict[str, bytes]:
    """Every file of the synthetic phone: on-device path -> bytes."""
    files: dict[str, bytes] = {}
    for fixture in FIXTURES:
        if fixture.corpus_path is None:
            continue
        source = corpus / fixture.corpus_path
        for suffix in ("",) + SQLITE_COMPANIONS:
            companion = Path(f"{source}{suffix}")
            if companion.is_file():
                files[fixture.device_path + suffix] = companion.read_bytes()
    callhistory = next(f.device_path for f in FIXTURES if f.plugin == "ios_callhistory")
    for suffix, data in wal_only_callhistory(scratch / "callhistory").items():
        files[callhistory + suffix] = data
    for suffix, data in persist_journal_db(scratch / "notes").items():
        files[JOURNAL_DB + suffix] = data
    files[next(f.device_path for f in FIXTURES if f.plugin == "vcard")] = VCARD
    voicemail = next(f.device_path for f in FIXTURES if f.plugin == "ios_voicemail")
    files[voicemail] = planted_voicemail(corpus / IOS / voicemail, scratch / "voicemail")
    return dict(sorted(files.items()))


def companions_in(files: dict[str, bytes]) -> dict[str, list[str]]:
    """Database path -> the companion suffixes the tree holds beside it."""
    out: dict[str, list[str]] = {}
    for path in files:
        for suffix in SQLITE_COMPANIONS:
            if path.endswith(suffix) and path[: -len(suffix)] in files:
                out.setdefault(path[: -len(suffix)], []).append(suffix)
    return out


# -- containers ------------------------------------------------------------------------------------


def backup_name(device_path: str) -> tuple[str, str]:
    for prefix, domain in BACKUP_DOMAINS:
        if device_path.startswith(prefix):
            return domain, device_path[len(prefix):]
    return "RootDomain", device_path


def make_itunes_backup(folder: Path, files: dict[str, bytes]) -> Path:
    """An unencrypted iOS 10+ backup: Manifest.db's Files table and each file
    stored as ``ab/<sha1("Domain-relativePath")>``, beside Info.plist and
    Manifest.plist."""
    folder.mkdir(parents=True)
    rows = []
    for device_path, data in files.items():
        domain, relative = backup_name(device_path)
        file_id = hashlib.sha1(f"{domain}-{relative}".encode()).hexdigest()
        stored = folder / file_id[:2] / file_id
        stored.parent.mkdir(exist_ok=True)
        stored.write_bytes(data)
        rows.append((file_id, domain, relative, 1, None))
    connection = sqlite3.connect(folder / "Manifest.db")
    connection.executescript("CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, "
                             "flags INTEGER, file BLOB); CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);")
    connection.executemany("INSERT INTO Files VALUES (?, ?, ?, ?, ?)", rows)
    connection.commit()
    connection.close()
    (folder / "Info.plist").write_bytes(plistlib.dumps({"Device Name": "Matrix Phone", "Product Type": "iPhone13,2",
                                                        "Product Version": "15.0"}))
    (folder / "Manifest.plist").write_bytes(plistlib.dumps({"IsEncrypted": False, "Version": "10.0"}))
    return folder


def make_flat_ntfs(path: Path, files: dict[str, bytes], scratch: Path, size_mib: int = 32) -> Path:
    """NTFS by mkntfs, each file copied into its root by ntfscp: ntfsprogs
    cannot make folders without mounting (and a test must not mount), so the
    on-device folders are flattened; every plugin selects its database by
    base name too."""
    names = [p.rsplit("/", 1)[-1] for p in files]
    assert len(set(names)) == len(names), "flattened names must stay unique"
    with open(path, "wb") as stream:
        stream.truncate(size_mib << 20)
    run("mkntfs", "-q", "-F", "-f", "-L", "PHONE", str(path))
    scratch.mkdir(parents=True, exist_ok=True)
    for device_path, data in files.items():
        staged = scratch / device_path.rsplit("/", 1)[-1]
        staged.write_bytes(data)
        run("ntfscp", "-f", str(path), str(staged), "/" + staged.name)
    return path


def qemu_convert(raw: Path, target: Path, fmt: str) -> Path:
    run("qemu-img", "convert", "-O", fmt, str(raw), str(target))
    return target


def split_raw(raw: Path, stem: Path, segments: int = 3) -> Path:
    data = raw.read_bytes()
    step = -(-len(data) // segments)
    step += (-step) % 512
    for index in range(segments):
        Path(f"{stem}.{index + 1:03d}").write_bytes(data[index * step:(index + 1) * step])
    return Path(f"{stem}.001")


def build_containers(files: dict[str, bytes], folder: Path) -> dict[str, Path]:
    """Container name -> the evidence path to scan, every one holding ``files``."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    tree = folder / "phone-folder"
    write_tree(tree, files)
    out["folder"] = tree
    out["zip"] = make_zip(folder / "phone.zip", files)
    out["tar"] = make_tar(folder / "phone.tar", files, mode="w")
    out["tar.gz"] = make_tar(folder / "phone.tar.gz", files, mode="w:gz")
    out["itunes-backup"] = make_itunes_backup(folder / "phone-backup", files)
    ext4 = make_ext4(folder / "phone-ext4.raw", files, size_kib=16384)
    out["ext4-raw"] = ext4
    out["ext4-split-raw"] = split_raw(ext4, folder / "phone-split")
    out["ext4-e01"] = make_e01(ext4, folder / "phone-ext4")
    mbr, gpt = folder / "phone-mbr.raw", folder / "phone-gpt.raw"
    make_partitioned_disk(mbr, [ext4], label="dos")
    make_partitioned_disk(gpt, [ext4], label="gpt")
    out["ext4-in-mbr"], out["ext4-in-gpt"] = mbr, gpt
    fat32 = make_fat32(folder / "phone-fat32.raw", files, size_kib=40960)
    out["fat32-sdcard"] = fat32
    # Two databases of one base name (Discord's and Burner's Cache.db) cannot both
    # lie in the flat root; their plugins name the app's folder, so they do not
    # select them there anyway (_selected_when_flattened).
    base_names = Counter(path.rsplit("/", 1)[-1] for path in files)
    flat_files = {path: data for path, data in files.items() if base_names[path.rsplit("/", 1)[-1]] == 1}
    ntfs = make_flat_ntfs(folder / "phone-ntfs.raw", flat_files, folder / "ntfs-staging")
    out["ntfs-flat"] = ntfs
    # dfVFS: ext4 bare and in a GPT, FAT32 in an MBR, the flat NTFS.
    out["ext4-qcow2"] = qemu_convert(ext4, folder / "phone-ext4.qcow2", "qcow2")
    out["ext4-in-gpt-vmdk"] = qemu_convert(gpt, folder / "phone-gpt.vmdk", "vmdk")
    fat32_mbr = folder / "phone-fat32-mbr.raw"
    make_partitioned_disk(fat32_mbr, [fat32], label="dos")
    out["fat32-in-mbr-vhd"] = qemu_convert(fat32_mbr, folder / "phone-fat32-mbr.vhd", "vpc")
    out["ntfs-flat-qcow2"] = qemu_convert(ntfs, folder / "phone-ntfs.qcow2", "qcow2")
    return out
