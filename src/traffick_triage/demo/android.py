"""Android-style databases and vCards (synthetic): contacts2.db, calllog.db
and mmssms.db with the tables and columns the Android providers use (the
subset the plugins read, plus the usual neighbours), written in a fixed order
and VACUUMed so the same content gives the same bytes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

PHONE_MIME = "vnd.android.cursor.item/phone_v2"
EMAIL_MIME = "vnd.android.cursor.item/email_v2"
NAME_MIME = "vnd.android.cursor.item/name"


def _finish(db: sqlite3.Connection) -> None:
    db.commit()
    db.execute("VACUUM")
    db.close()


def _sms_db(path: Path, messages: list[tuple[str, int, str, int]]) -> None:
    """mmssms.db with (address, date ms UTC, body, type 1 inbox / 2 sent) rows."""
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, person INTEGER,
            date INTEGER, date_sent INTEGER, protocol INTEGER, read INTEGER, status INTEGER, type INTEGER,
            reply_path_present INTEGER, subject TEXT, body TEXT, service_center TEXT, locked INTEGER,
            error_code INTEGER, seen INTEGER);
        CREATE TABLE threads (_id INTEGER PRIMARY KEY, date INTEGER, message_count INTEGER, recipient_ids TEXT);
        CREATE TABLE pdu (_id INTEGER PRIMARY KEY, thread_id INTEGER, date INTEGER, msg_box INTEGER, read INTEGER);
        CREATE TABLE addr (_id INTEGER PRIMARY KEY, msg_id INTEGER, address TEXT, type INTEGER);
        CREATE TABLE part (_id INTEGER PRIMARY KEY, mid INTEGER, ct TEXT, text TEXT);
    """)
    threads: dict[str, int] = {}
    for index, (address, when_ms, body, kind) in enumerate(messages, start=1):
        thread = threads.setdefault(address, len(threads) + 1)
        db.execute("INSERT INTO sms (_id, thread_id, address, date, date_sent, read, type, body, seen) "
                   "VALUES (?, ?, ?, ?, ?, 1, ?, ?, 1)", (index, thread, address, when_ms, when_ms, kind, body))
    _finish(db)


def contacts2_db(path: Path, contacts: list[dict]) -> None:
    """contacts2.db: raw_contacts + data + mimetypes (+ contacts for the update time).
    Each contact: name, phones (as written), emails, updated_ms, deleted."""
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE mimetypes (_id INTEGER PRIMARY KEY AUTOINCREMENT, mimetype TEXT NOT NULL);
        CREATE TABLE contacts (_id INTEGER PRIMARY KEY AUTOINCREMENT, name_raw_contact_id INTEGER,
            contact_last_updated_timestamp INTEGER);
        CREATE TABLE raw_contacts (_id INTEGER PRIMARY KEY AUTOINCREMENT, account_name TEXT, account_type TEXT,
            contact_id INTEGER, deleted INTEGER NOT NULL DEFAULT 0, display_name TEXT);
        CREATE TABLE data (_id INTEGER PRIMARY KEY AUTOINCREMENT, mimetype_id INTEGER NOT NULL,
            raw_contact_id INTEGER NOT NULL, data1 TEXT, data2 TEXT);
    """)
    for mime in (NAME_MIME, PHONE_MIME, EMAIL_MIME):
        db.execute("INSERT INTO mimetypes (mimetype) VALUES (?)", (mime,))
    mime_id = {NAME_MIME: 1, PHONE_MIME: 2, EMAIL_MIME: 3}
    for number, contact in enumerate(contacts, start=1):
        db.execute("INSERT INTO contacts (_id, name_raw_contact_id, contact_last_updated_timestamp) VALUES (?,?,?)",
                   (number, number, contact["updated_ms"]))
        db.execute("INSERT INTO raw_contacts (_id, account_name, account_type, contact_id, deleted, display_name) "
                   "VALUES (?, 'Phone', 'com.android.localphone', ?, ?, ?)",
                   (number, number, 1 if contact.get("deleted") else 0, contact["name"]))
        db.execute("INSERT INTO data (mimetype_id, raw_contact_id, data1) VALUES (?,?,?)",
                   (mime_id[NAME_MIME], number, contact["name"]))
        for phone in contact.get("phones", ()):
            db.execute("INSERT INTO data (mimetype_id, raw_contact_id, data1, data2) VALUES (?,?,?,'2')",
                       (mime_id[PHONE_MIME], number, phone))
        for email in contact.get("emails", ()):
            db.execute("INSERT INTO data (mimetype_id, raw_contact_id, data1) VALUES (?,?,?)",
                       (mime_id[EMAIL_MIME], number, email))
    _finish(db)


def calllog_db(path: Path, calls: list[dict]) -> None:
    """calllog.db (Android 7+): calls(_id, number, date ms, duration s, type, name)."""
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE calls (_id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT, presentation INTEGER NOT NULL DEFAULT 1,
            date INTEGER, duration INTEGER, data_usage INTEGER, type INTEGER, features INTEGER NOT NULL DEFAULT 0,
            subscription_component_name TEXT, subscription_id TEXT, new INTEGER, name TEXT, numbertype INTEGER,
            countryiso TEXT, geocoded_location TEXT, is_read INTEGER);
    """)
    for number, call in enumerate(calls, start=1):
        db.execute("INSERT INTO calls (_id, number, date, duration, type, name, countryiso, is_read, "
                   "subscription_component_name) VALUES (?,?,?,?,?,?,?,1,"
                   "'com.android.phone/com.android.services.telephony.TelephonyConnectionService')",
                   (number, call["number"], call["date_ms"], call["duration"], call["type"], call.get("name"),
                    call.get("countryiso", "KW")))
    _finish(db)


def vcards(cards: list[dict]) -> bytes:
    """vCard 3.0 text (CRLF), UTF-8, one card per contact: name, phones, emails."""
    lines: list[str] = []
    for card in cards:
        lines += ["BEGIN:VCARD", "VERSION:3.0", f"FN:{card['name']}"]
        if card.get("family") or card.get("given"):
            lines.append(f"N:{card.get('family', '')};{card.get('given', '')};;;")
        lines += [f"TEL;TYPE=CELL:{phone}" for phone in card.get("phones", ())]
        lines += [f"EMAIL:{email}" for email in card.get("emails", ())]
        if card.get("note"):
            lines.append(f"NOTE:{card['note']}")
        lines.append("END:VCARD")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
