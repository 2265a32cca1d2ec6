"""What EML, MBOX and PST share: finding the attachments of one MIME message
(the standard library's ``email`` with ``policy.default``), naming them, and
the message's headers as member details.

An attachment is every leaf part that has a file name, or is marked as an
attachment, or whose type is not text (an inline picture has no name but is
image/*). The body text (text/plain, text/html without a name) is not an
item. A forwarded message (message/rfc822) is entered, up to MAX_MIME_DEPTH
messages deep, and its attachments are named under it."""

from __future__ import annotations

import base64
import email.utils
import io
import quopri
import mimetypes
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any, Iterator

from ...timeutil import iso_utc
from ..api import HEAD_BYTES, ExpansionBudget, ExpansionError

MAX_MESSAGE_BYTES = 64 << 20   # one message parsed in memory at most (an EML, one MBOX message)
MAX_MIME_DEPTH = 16            # parts inside parts, forwarded messages included
MAX_PARTS = 10_000             # parts of one message visited
MAX_NAME = 160                 # characters of a file name kept in a member's name
MAX_DETAIL = 500               # characters of a header kept in details

# Python's own table only, not the machine's /etc/mime.types: a member's name
# must be the same on every machine.
_BUILTIN_TYPES = mimetypes.MimeTypes()

HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}:")
# A field name set that a mail header block has and other "Name: value" texts rarely do.
MAIL_FIELDS = {b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"mime-version", b"received",
               b"return-path", b"reply-to", b"sender", b"delivered-to", b"x-mailer", b"references",
               b"in-reply-to", b"content-type", b"content-transfer-encoding", b"x-originating-ip"}
ORIGIN_FIELDS = {b"from", b"received", b"message-id", b"return-path"}


def looks_like_mail_headers(block: bytes) -> bool:
    """True when ``block`` starts with an RFC 5322 header block that ends in a
    blank line and names at least two mail fields, one of them saying where the
    mail came from: a plain text with a "Note: x" line is not mail."""
    end = _blank_line(block)
    fields_needed = 2
    if end < 0 and len(block) >= HEAD_BYTES:
        # A header block longer than the probe shows (a long Received chain):
        # 64 KiB of header lines are evidence enough with one mail field.
        end, fields_needed = block.rfind(b"\n"), 1
    if end <= 0:
        return False
    names: set[bytes] = set()
    for index, line in enumerate(block[:end].splitlines()):
        if line[:1] in (b" ", b"\t") and index > 0:
            continue   # a folded continuation of the field before
        if not HEADER_LINE.match(line):
            return False
        names.add(line.split(b":", 1)[0].strip().lower())
    return len(names & MAIL_FIELDS) >= fields_needed and bool(names & ORIGIN_FIELDS)


def _blank_line(block: bytes) -> int:
    positions = [p for p in (block.find(b"\n\n"), block.find(b"\r\n\r\n")) if p >= 0]
    return min(positions) if positions else -1


def parse_message(data: bytes) -> EmailMessage:
    if len(data) > MAX_MESSAGE_BYTES:
        raise ExpansionError(f"message of {len(data)} bytes: over the {MAX_MESSAGE_BYTES}-byte limit; not parsed")
    try:
        return BytesParser(policy=policy.default).parsebytes(data)
    except (RecursionError, ValueError, TypeError, IndexError, LookupError) as error:
        raise ExpansionError(f"message cannot be parsed: {type(error).__name__}") from error


def header(message: Message, name: str) -> str:
    """A header as text; a header the parser cannot make sense of is given raw."""
    try:
        value = message.get(name)
        text = "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - the email package raises many kinds on malformed headers
        text = next((str(raw) for key, raw in message.raw_items() if key.lower() == name.lower()), "")
    return clean(text, MAX_DETAIL)


def clean(text: str, limit: int) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:limit]


def safe_name(text: str) -> str:
    """A file name from a mail as one locator segment part: printable, no path
    separators, no locator separator, bounded."""
    name = clean(text, MAX_NAME).replace("/", "_").replace("\\", "_").replace(" > ", " _ ")
    return name.strip(". ") or "unnamed"


def mail_date(raw: str) -> str | None:
    """The Date header in UTC ISO 8601; None when absent, unreadable or without a zone ("-0000")."""
    if not raw:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    try:
        return iso_utc(moment)
    except (ValueError, OverflowError):
        return None


def message_details(message: Message) -> dict[str, Any]:
    date = header(message, "Date")
    details = {"subject": header(message, "Subject"), "from": header(message, "From"),
               "to": header(message, "To"), "date": date, "date_utc": mail_date(date),
               "message_id": header(message, "Message-ID")}
    return {key: value for key, value in details.items() if value}


@dataclass
class Attachment:
    path: tuple[int, ...]          # child indices from the top message to the part
    name: str                      # the member-name part below the message ("forwarded 1/attachment 2 x.jpg")
    content: bytes
    details: dict[str, Any]
    notes: list[str]


def attachments(message: Message) -> Iterator[Attachment | tuple[str, str]]:
    """Every attachment of the message and of the messages it carries, in part
    order; a part that cannot be read is given as (name, problem)."""
    yield from _walk(message, message, (), "", 0, [0], [0, 0])


def _walk(part: Message, owner: Message, path: tuple[int, ...], prefix: str, depth: int,
          visited: list[int], counter: list[int]) -> Iterator[Attachment | tuple[str, str]]:
    visited[0] += 1
    if visited[0] > MAX_PARTS:
        if visited[0] == MAX_PARTS + 1:
            yield (prefix + "parts", f"more than {MAX_PARTS} MIME parts; the rest are not read")
        return
    if depth > MAX_MIME_DEPTH:
        yield (prefix + "parts", f"MIME parts nested deeper than {MAX_MIME_DEPTH}; not read")
        return
    content_type = part.get_content_type()
    if part.is_multipart() and not _encoded_message(part):
        children = part.get_payload()
        if not isinstance(children, list):
            return
        if content_type == "message/rfc822":
            counter[1] += 1   # forwarded messages of the owner, numbered from 1
            for index, inner in enumerate(children[:1]):
                if isinstance(inner, Message):
                    yield from _walk(inner, inner, path + (index,), f"{prefix}forwarded {counter[1]}/",
                                     depth + 1, visited, [0, 0])
            return
        for index, child in enumerate(children):
            if isinstance(child, Message):
                yield from _walk(child, owner, path + (index,), prefix, depth + 1, visited, counter)
        return
    try:
        filename = part.get_filename()
        disposition = part.get_content_disposition()
    except Exception:  # noqa: BLE001 - malformed parameters
        filename, disposition = None, None
    maintype = part.get_content_maintype()
    # A message/rfc822 part the parser left as a leaf (base64-encoded, say) is
    # an attachment (.eml) and is expanded in turn as one.
    if not (filename or disposition == "attachment" or content_type == "message/rfc822"
            or maintype not in ("text", "multipart", "message")):
        return
    counter[0] += 1
    if filename:
        label = f"{prefix}attachment {counter[0]} {safe_name(filename)}"
    else:
        label = f"{prefix}attachment {counter[0]}{_BUILTIN_TYPES.guess_extension(content_type) or '.bin'}"
    try:
        content = decoded(part)
    except Exception as error:  # noqa: BLE001 - a damaged transfer encoding
        yield (label, f"attachment cannot be decoded: {type(error).__name__}")
        return
    details = message_details(owner)
    details["content_type"] = content_type
    if filename:
        details["filename"] = clean(filename, MAX_DETAIL)
    notes = [f"{type(defect).__name__}" for defect in part.defects][:5]
    yield Attachment(path=path, name=label, content=content, details=details, notes=notes)


def part_at(message: Message, path: list[int]) -> Message:
    """The part a key's path names (for open_member)."""
    part = message
    for index in path[:MAX_MIME_DEPTH + 1]:
        children = part.get_payload() if part.is_multipart() else None
        if not isinstance(children, list) or not isinstance(index, int) or not 0 <= index < len(children):
            raise ExpansionError(f"no MIME part at {path}")
        part = children[index]
    return part


def _encoded_message(part: Message) -> bool:
    """A message/rfc822 part sent base64 or quoted-printable (RFC 2046 forbids
    it, mailers do it): the parser reads the encoded text as a message."""
    return (part.get_content_type() == "message/rfc822"
            and str(part.get("Content-Transfer-Encoding", "")).strip().lower() in ("base64", "quoted-printable"))


def decoded(part: Message) -> bytes:
    """A leaf part's bytes with its transfer encoding undone."""
    if _encoded_message(part):
        children = part.get_payload()
        text = children[0].as_string() if isinstance(children, list) and children else ""
        if str(part.get("Content-Transfer-Encoding")).strip().lower() == "base64":
            letters = re.sub(r"[^A-Za-z0-9+/]", "", text)
            return base64.b64decode(letters + "=" * (-len(letters) % 4))
        return quopri.decodestring(text.encode("ascii", "replace"))
    content = part.get_payload(decode=True)
    return content if isinstance(content, bytes) else b""


def reopen(content: bytes, budget: ExpansionBudget):
    return budget.bounded(io.BytesIO(content), len(content))
