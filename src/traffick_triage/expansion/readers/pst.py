"""The attachments of every message in an Outlook PST or OST file, through
libpff's Python binding (``pypff``, PyPI libpff-python; the ``pst`` extra).

Folders are walked from the root in libpff's order (the order the file
lists them), depth-first and bounded; every message's attachments are
members named ``folder/sub folder/msg 0003/attachment 1 photo.jpg``. The
message's subject, sender and transport headers (From, To, Date, Message-ID)
are the member's details, like an EML's. An attachment that is itself a
message (an embedded item) has no bytes of its own in libpff and is listed as
a problem; orphan and recovered (deleted) items are not read."""

from __future__ import annotations

from typing import IO, Any, Iterator

from ...timeutil import from_filetime, iso_or_none
from ..api import BudgetExceeded, ExpansionBudget, ExpansionError, Expander, Member, MemberProblem, Probe
from ._mime_parts import MAX_DETAIL, clean, message_details, parse_message, reopen, safe_name

PST_MAGIC = b"!BDN"
MAX_FOLDER_DEPTH = 32
MAX_FOLDERS = 100_000
MAX_MESSAGES_PER_FOLDER = 1_000_000
MAX_ATTACHMENTS = 1_000        # per message
MAX_ATTACHMENT_BYTES = 1 << 30
MAX_HEADERS = 256 << 10        # transport headers parsed for From/To/Date/Message-ID
CHUNK = 1 << 20


def _pypff():
    try:
        import pypff
    except ImportError as error:
        raise ExpansionError("PST/OST reading needs libpff-python (pip install 'traffick-triage[pst]')") from error
    return pypff


def _text(getter) -> str:
    try:
        value = getter()
    except (OSError, IOError, ValueError, TypeError, UnicodeError):
        return ""
    return clean(str(value), MAX_DETAIL) if value else ""


class PstExpander(Expander):
    NAME = "pst"
    VERSION = "1"
    DESCRIPTION = "attachments of every message in an Outlook PST/OST file (libpff)"

    @classmethod
    def library(cls) -> str:
        try:
            return f"libpff {_pypff().get_version()}"
        except ExpansionError:
            return "libpff (libpff-python not installed)"

    def claims(self, probe: Probe) -> bool:
        return probe.head.startswith(PST_MAGIC)

    def _open(self, container: IO[bytes]):
        pypff = _pypff()
        container.seek(0)
        handle = pypff.file()
        try:
            handle.open_file_object(container)
            root = handle.get_root_folder()
        except (OSError, IOError, ValueError, TypeError, MemoryError) as error:
            raise ExpansionError(f"not a readable PST/OST file: {_short(error)}") from error
        if root is None:
            raise ExpansionError("not a readable PST/OST file: it has no root folder")
        return handle, root

    def members(self, container: IO[bytes], budget: ExpansionBudget) -> Iterator[Member | MemberProblem]:
        handle, root = self._open(container)
        try:
            folders = [0]
            yield from self._folder(root, [], "", 0, folders, budget)
        finally:
            handle.close()

    def _folder(self, folder, path: list[int], prefix: str, depth: int, folders: list[int],
                budget: ExpansionBudget) -> Iterator[Member | MemberProblem]:
        folders[0] += 1
        if folders[0] > MAX_FOLDERS:
            if folders[0] == MAX_FOLDERS + 1:
                yield MemberProblem(prefix or "folders", f"more than {MAX_FOLDERS} folders; the rest are not read")
            return
        try:
            message_count = min(folder.get_number_of_sub_messages(), MAX_MESSAGES_PER_FOLDER)
            folder_count = folder.get_number_of_sub_folders()
        except (OSError, IOError, ValueError) as error:
            yield MemberProblem(prefix or "root folder", f"unreadable folder: {_short(error)}")
            return
        for index in range(message_count):
            label = f"{prefix}msg {index + 1:04d}"
            try:
                message = folder.get_sub_message(index)
                yield from self._message(message, path, index, label + "/", budget)
            except BudgetExceeded:
                raise
            except (OSError, IOError, ValueError, TypeError, MemoryError) as error:
                yield MemberProblem(label, f"unreadable message: {_short(error)}")
        if depth >= MAX_FOLDER_DEPTH:
            if folder_count:
                yield MemberProblem(prefix or "root folder", f"folders nested deeper than {MAX_FOLDER_DEPTH}; not read")
            return
        for index in range(folder_count):
            try:
                sub = folder.get_sub_folder(index)
            except (OSError, IOError, ValueError) as error:
                yield MemberProblem(f"{prefix}folder {index + 1}", f"unreadable folder: {_short(error)}")
                continue
            name = safe_name(_text(sub.get_name) or f"folder {index + 1}")
            yield from self._folder(sub, path + [index], f"{prefix}{name}/", depth + 1, folders, budget)

    def _message(self, message, path: list[int], index: int, prefix: str,
                 budget: ExpansionBudget) -> Iterator[Member | MemberProblem]:
        count = message.get_number_of_attachments()
        if not count:
            return
        details = _message_details(message)
        for number in range(min(count, MAX_ATTACHMENTS)):
            try:
                attachment = message.get_attachment(number)
                size = attachment.get_size()
                filename = _text(attachment.get_long_filename)
            except (OSError, IOError, ValueError, TypeError) as error:
                yield MemberProblem(f"{prefix}attachment {number + 1}", f"unreadable attachment: {_short(error)}")
                continue
            label = f"{prefix}attachment {number + 1}" + (f" {safe_name(filename)}" if filename else "")
            if size is None or size <= 0:
                yield MemberProblem(label, "attachment without data of its own (an embedded message or a link)")
                continue
            reason = budget.member_limit(size, None)
            if reason or size > MAX_ATTACHMENT_BYTES:
                yield MemberProblem(label, reason or f"attachment of {size} bytes: over the size limit")
                continue
            member_details = dict(details, **({"filename": filename} if filename else {}))
            yield Member(name=label, key={"folder": list(path), "message": index, "attachment": number},
                         size=size, details=member_details)
        if count > MAX_ATTACHMENTS:
            yield MemberProblem(prefix + "attachments", f"more than {MAX_ATTACHMENTS} attachments; the rest are not read")

    def open_member(self, container: IO[bytes], key: dict[str, Any], budget: ExpansionBudget) -> IO[bytes]:
        handle, folder = self._open(container)
        try:
            try:
                for index in list(key.get("folder") or [])[:MAX_FOLDER_DEPTH]:
                    folder = folder.get_sub_folder(int(index))
                message = folder.get_sub_message(int(key["message"]))
                attachment = message.get_attachment(int(key["attachment"]))
                size = attachment.get_size() or 0
                if size > MAX_ATTACHMENT_BYTES:
                    raise ExpansionError(f"attachment of {size} bytes: over the size limit")
                chunks, remaining = [], size
                attachment.seek_offset(0)
                while remaining > 0:
                    chunk = attachment.read_buffer(min(CHUNK, remaining))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    remaining -= len(chunk)
            except (OSError, IOError, ValueError, TypeError, KeyError, MemoryError) as error:
                raise ExpansionError(f"PST attachment {key!r} cannot be read: {_short(error)}") from error
        finally:
            handle.close()
        return reopen(b"".join(chunks), budget)


def _message_details(message) -> dict[str, Any]:
    details: dict[str, Any] = {}
    try:
        raw_headers = message.get_transport_headers() or ""
    except (OSError, IOError, ValueError, UnicodeError):
        raw_headers = ""
    if raw_headers:
        try:
            details.update(message_details(parse_message(str(raw_headers)[:MAX_HEADERS].encode("utf-8", "replace"))))
        except ExpansionError:
            pass
    subject = _text(message.get_subject)
    sender = _text(message.get_sender_name)
    if subject:
        details["subject"] = subject
    if sender:
        details["sender_name"] = sender
    for name, getter in (("client_submit_time", "get_client_submit_time_as_integer"),
                         ("delivery_time", "get_delivery_time_as_integer")):
        try:
            value = iso_or_none(from_filetime(getattr(message, getter)()))
        except (OSError, IOError, ValueError, TypeError, AttributeError):
            value = None
        if value:
            details[name] = value
    return details


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]
