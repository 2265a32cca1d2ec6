"""Burner (Ad Hoc Labs, second phone numbers) for iOS: the app's API
responses (``phoenix.burnerapp.com``) in iOS's URL cache,
``Library/Caches/com.adhoclabs.burner/``. Burner 5.x for iOS keeps its
messages on the server; the device holds the JSON the app fetched: message
pages in ``fsCachedData/`` files and smaller bodies inline in ``Cache.db``
(see ``_url_cache``). Newer versions also keep ``Phoenix.sqlite`` in an app
group; no real copy of it is in the corpus, so it is not read here.

Message objects (Burner API as cached by Burner for iOS 4.0-5.4, the
fields iLEAPP's Burner cache parser reads): ``id``, ``message``,
``contactPhoneNumber``, ``burnerId``, ``direction`` (1 incoming, 2
outgoing), ``messageType`` (1 call or voicemail, 2 text), ``dateCreated``
(Unix milliseconds, UTC), ``read``, ``assetUrl`` (MMS picture),
``voiceUrl`` (voicemail), ``messageDuration``/``duration`` (seconds),
``state``.

Read: in Cache.db the inline bodies of ``/user/<id>/messages`` (a page or
the echo of a message sent), ``/user/<id>/contacts`` (contacts) and
``/v3/user/<id>/burners`` (the burner numbers: the owner's side of the
messages in the same file); in fsCachedData every JSON list of message
objects. Message-thread previews (``/messageThreads``) repeat the newest
message of each thread and are not read.

Findings: ``comms.message`` for texts, ``comms.call`` for calls,
``comms.contact`` for contacts; app "Burner".
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import open_database
from . import _comms, _url_cache
from ._comms import AppMessage, Call, Contact, clean, unix_ms_iso

APP = "Burner"
MESSAGE_KEYS = ("id", "contactPhoneNumber", "direction", "messageType", "dateCreated")
CONTACT_KEYS = ("id", "phoneNumber", "name")
BURNER_KEYS = ("id", "phoneNumber")
MESSAGES_PATH = re.compile(r"/user/[^/]+/messages")
CONTACTS_PATH = re.compile(r"/user/[^/]+/contacts")
BURNERS_PATH = re.compile(r"(/v\d+)?/user/[^/]+/burners")
ANY_PATH = re.compile("|".join(p.pattern for p in (MESSAGES_PATH, CONTACTS_PATH, BURNERS_PATH)))
DIRECTIONS = {1: _comms.INCOMING, 2: _comms.OUTGOING}
TYPE_CALL = 1
MAX_FILE = 16 << 20


def _text(value: Any) -> str | None:
    return clean(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def finding_of(item: dict, record: str, burners: dict[str, str]) -> Finding:
    # JSON values can be of any type: only an int is looked up (a list is unhashable).
    direction = DIRECTIONS.get(item["direction"], _comms.UNKNOWN) if type(item["direction"]) is int else _comms.UNKNOWN
    contact = _text(item["contactPhoneNumber"])
    own = burners.get(_text(item.get("burnerId")) or "")
    when = unix_ms_iso(item["dateCreated"])
    if item["messageType"] == TYPE_CALL:
        duration = item.get("messageDuration")
        if duration is None:
            duration = item.get("duration")
        return Call(number=contact, direction=direction, start_time=when, duration_s=_comms.number(duration),
                    call_type="burner_voicemail" if _text(item.get("voiceUrl")) else "burner_voice",
                    source_app=APP, source_record_id=record)
    incoming = direction == _comms.INCOMING
    assets = _comms.unique(_text(item.get(key)) for key in ("assetUrl", "voiceUrl"))
    body = item.get("message")
    read = item.get("read")
    return AppMessage(
        app=APP,
        thread_id=f"{_text(item.get('burnerId')) or '?'}/{contact}",
        sender=contact if incoming else own,
        recipients=tuple(x for x in ((own if incoming else contact),) if x is not None),
        direction=direction,
        body=body if isinstance(body, str) and body else None,
        time=when,
        read=read if isinstance(read, bool) else None,
        attachments=len(assets),
        status=None if item.get("state") is None else f"state {item.get('state')}",
        account=own,
        service="Burner",
        source_record_id=record,
        attachment_names=assets,
    )


class BurnerIosPlugin(Plugin):
    """Burner texts, calls and contacts from iOS's URL cache of the app."""

    NAME = "burner_ios"
    VERSION = "1.0"
    DESCRIPTION = "Burner (second numbers) for iOS: cached API responses (fsCachedData JSON, Cache.db)"
    SELECTOR = Selector(globs=("**/com.adhoclabs.burner/fsCachedData/*", "**/com.adhoclabs.burner/Cache.db"))
    SCHEMAS = {"message JSON": "Burner API message objects, Burner for iOS 4.0-5.4",
               "cfurl_cache_response+cfurl_cache_receiver_data": "NSURLCache Cache.db, iOS 8-17"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        if file.name.lower() == "cache.db":
            yield from self._cache_db(file, ctx)
            return
        if file.size > MAX_FILE:
            return                        # cached pictures and voicemails
        data = file.read(MAX_FILE)
        if not _url_cache.looks_like_json(data):
            return
        body = _url_cache.parse_json(data)
        if body is None:
            ctx.warn(f"{self.NAME}: {file.locator}: cached response looks like JSON but does not parse; skipped")
            return
        for item in _url_cache.records(body, MESSAGE_KEYS):
            yield finding_of(item, str(_text(item["id"])), {})

    def _cache_db(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None or (db.pick((_url_cache.CACHE,)) is None
                              and not db.require(_url_cache.CACHE.tables, "cached responses")):
                return
            responses = list(_url_cache.inline_responses(db, ANY_PATH))
        burners: dict[str, str] = {}
        for response in responses:
            if BURNERS_PATH.fullmatch(response.path):
                for item in _url_cache.records(response.body, BURNER_KEYS):
                    if _text(item["id"]) and _text(item["phoneNumber"]):
                        burners.setdefault(_text(item["id"]), _text(item["phoneNumber"]))
        for response in responses:
            if MESSAGES_PATH.fullmatch(response.path):
                for item in _url_cache.records(response.body, MESSAGE_KEYS):
                    yield finding_of(item, f"cache:{response.entry_id}:{_text(item['id'])}", burners)
            elif CONTACTS_PATH.fullmatch(response.path):
                for item in _url_cache.records(response.body, CONTACT_KEYS):
                    yield Contact(
                        name=_text(item["name"]), phone_numbers=_comms.unique((_text(item["phoneNumber"]),)),
                        identifiers=_comms.unique((_text(item["id"]),)), source_app=APP,
                        source_record_id=f"cache:{response.entry_id}:{_text(item['id'])}",
                        created=unix_ms_iso(item.get("dateCreated")),
                        modified=unix_ms_iso(item.get("lastUpdatedDate")))
