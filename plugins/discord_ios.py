"""Discord for iOS (com.hammerandchisel.discord): the messages the app
fetched from Discord's API and iOS kept in its URL cache. Discord for iOS
keeps no message database; what a device holds is the JSON of
``GET /api/v<N>/channels/<channel>/messages`` responses (lists of up to
50 messages) in ``Library/Caches/com.hammerandchisel.discord/fsCachedData/``
and small responses, such as the echo of a message the user sent
(``POST .../messages``), inline in ``Cache.db`` (see ``_url_cache``).

Message objects (Discord API v6-v10, as documented by Discord and read by
iLEAPP): ``id``, ``type``, ``content``, ``channel_id``, ``author{id,
username, discriminator, global_name}``, ``timestamp`` (ISO 8601 with its
UTC offset), ``attachments[{filename, url}]``, ``call{participants,
ended_timestamp}`` on call rows. ``type`` 0 (default), 19 (reply) and
20/23 (commands, context menus) are messages people wrote; 3 is a call;
every other type is a system row (member joined, pin, rename...).

Findings: ``comms.message`` (``sender`` the author's Discord user id, the
identifier a preservation request needs; ``sender_name`` the user name as
found), ``comms.call`` (``number`` the id of the user who started it,
duration from ``timestamp`` to ``call.ended_timestamp``),
``comms.chat_event`` for system rows. One finding per message object in
each cached response: the same message cached by two responses appears
twice, each with its own locator. The cache does not say which account
is the device owner's, so direction is "unknown".
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Iterator

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import open_database
from ..timeutil import iso_utc
from . import _comms, _url_cache
from ._comms import AppMessage, Call, ChatEvent, clean

APP = "Discord"
MESSAGE_KEYS = ("id", "type", "channel_id", "author", "timestamp")
WRITTEN = {0, 19, 20, 23}
CALL = 3
MESSAGES_PATH = re.compile(r"/api(/v\d+)?/channels/\d+/messages")
MAX_FILE = 16 << 20


def _time(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None    # a time without its offset is not guessed


def _iso(moment: _dt.datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def _text(value: Any) -> str | None:
    return clean(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def findings_of(message: dict, record: str) -> Finding:
    """The finding of one Discord message object."""
    author = message["author"] if isinstance(message["author"], dict) else {}
    author_id = _text(author.get("id"))
    name = _text(author.get("global_name")) or _text(author.get("username"))
    channel = _text(message["channel_id"])
    kind = message["type"] if type(message["type"]) is int else None    # JSON of any type: no lookup on a list
    when = _time(message["timestamp"])
    if kind == CALL:
        call = message.get("call") if isinstance(message.get("call"), dict) else {}
        ended = _time(call.get("ended_timestamp"))
        return Call(number=author_id, direction=_comms.UNKNOWN, start_time=_iso(when),
                    duration_s=(ended - when).total_seconds() if when and ended else None,
                    contact_name=name, call_type="discord_call", source_app=APP, source_record_id=record)
    if kind not in WRITTEN:
        return ChatEvent(app=APP, thread_id=channel, actor=author_id, event_type=f"type {kind}",
                         time=_iso(when), source_record_id=record)
    attachments = message.get("attachments") if isinstance(message.get("attachments"), list) else []
    names = _comms.unique(item.get("filename") for item in attachments[:1000] if isinstance(item, dict))
    content = message.get("content")
    return AppMessage(
        app=APP, thread_id=channel, sender=author_id, recipients=(), direction=_comms.UNKNOWN,
        body=content if isinstance(content, str) and content else None, time=_iso(when),
        attachments=len(attachments), status="edited" if message.get("edited_timestamp") else None,
        service="Discord", source_record_id=record,
        attachment_names=names, sender_name=name)


class DiscordIosPlugin(Plugin):
    """Discord messages and calls from iOS's URL cache of the Discord app."""

    NAME = "discord_ios"
    VERSION = "1.0"
    DESCRIPTION = "Discord for iOS: cached API responses (fsCachedData JSON, Cache.db inline bodies)"
    SELECTOR = Selector(globs=("**/com.hammerandchisel.discord/fsCachedData/*",
                               "**/com.hammerandchisel.discord/Cache.db"))
    SCHEMAS = {"message JSON": "Discord API v6-v10 message objects",
               "cfurl_cache_response+cfurl_cache_receiver_data": "NSURLCache Cache.db, iOS 8-17"}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        if file.name.lower() == "cache.db":
            yield from self._cache_db(file, ctx)
            return
        if file.size > MAX_FILE:
            return                        # images and bundles; message pages are tens of KB
        data = file.read(MAX_FILE)
        if not _url_cache.looks_like_json(data):
            return                        # a cached picture or other non-JSON body
        body = _url_cache.parse_json(data)
        if body is None:
            ctx.warn(f"{self.NAME}: {file.locator}: cached response looks like JSON but does not parse; skipped")
            return
        for message in _url_cache.records(body, MESSAGE_KEYS):
            yield findings_of(message, f"{_text(message['id'])}")

    def _cache_db(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        with open_database(file, ctx, self.NAME) as db:
            if db is None or (db.pick((_url_cache.CACHE,)) is None
                              and not db.require(_url_cache.CACHE.tables, "cached responses")):
                return
            for response in _url_cache.inline_responses(db, MESSAGES_PATH):
                for message in _url_cache.records(response.body, MESSAGE_KEYS):
                    yield findings_of(message, f"cache:{response.entry_id}:{_text(message['id'])}")
