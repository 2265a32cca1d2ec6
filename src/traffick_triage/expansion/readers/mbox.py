"""The attachments of every message of an MBOX mailbox. The standard library's
``mailbox`` opens paths only, so the mailbox is split here from the stream:
a message begins at a line starting ``From `` that opens the file, follows a
blank line, or has the asctime date every mbox writer puts there
(``From sender Mon Jan  1 00:00:00 2024``). ``>From`` quoting is left as it
is (attachments are base64 and never hold it). Each message is then read as
an EML (eml.attachment_members)."""

from __future__ import annotations

import re
from typing import IO, Any, Iterator

from ..api import BudgetExceeded, ExpansionBudget, ExpansionError, Expander, Member, MemberProblem, Probe
from ._mime_parts import MAX_MESSAGE_BYTES, clean, decoded, looks_like_mail_headers, parse_message, part_at, reopen
from .eml import attachment_members

MAX_MESSAGES = 1_000_000
MAX_LINE = 1 << 20             # a longer line is read in pieces (it cannot start a message mid-way)
FROM_LINE = re.compile(rb"^From \S*\s+(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ")


def split_mbox(container: IO[bytes]) -> Iterator[tuple[int, int, bytes | None, bytes]]:
    """(offset, length, message bytes or None when over the size limit, From_ line) of each message.
    Seeks before every read: the caller may use the stream between messages."""
    position = 0
    start = -1
    from_line = b""
    chunks: list[bytes] = []
    kept = 0
    previous_blank = True
    line_start = True
    while True:
        container.seek(position)
        line = container.readline(MAX_LINE)
        if not line:
            break
        is_separator = line_start and line.startswith(b"From ") and (previous_blank or FROM_LINE.match(line))
        if is_separator:
            if start >= 0:
                yield start, position - start, (b"".join(chunks) if kept <= MAX_MESSAGE_BYTES else None), from_line
            start, from_line, chunks, kept = position + len(line), line.rstrip(b"\r\n"), [], 0
        elif start >= 0:
            kept += len(line)
            if kept <= MAX_MESSAGE_BYTES:
                chunks.append(line)
            else:
                chunks = []
        position += len(line)
        line_start = line.endswith(b"\n")
        if line_start:
            previous_blank = line in (b"\n", b"\r\n")
    if start >= 0:
        yield start, position - start, (b"".join(chunks) if kept <= MAX_MESSAGE_BYTES else None), from_line


class MboxExpander(Expander):
    NAME = "mbox"
    VERSION = "1"
    DESCRIPTION = "attachments and inline pictures of every message of an MBOX mailbox"

    @classmethod
    def library(cls) -> str:
        import sys
        return f"Python email package (Python {sys.version.split()[0]})"

    def claims(self, probe: Probe) -> bool:
        if not probe.head.startswith(b"From "):
            return False
        first_end = probe.head.find(b"\n")
        return first_end > 0 and looks_like_mail_headers(probe.head[first_end + 1:])

    def members(self, container: IO[bytes], budget: ExpansionBudget) -> Iterator[Member | MemberProblem]:
        for index, (offset, length, data, from_line) in enumerate(split_mbox(container)):
            prefix = f"msg {index + 1:04d}/"
            if index >= MAX_MESSAGES:
                yield MemberProblem(prefix, f"more than {MAX_MESSAGES} messages; the rest are not read")
                return
            if data is None:
                yield MemberProblem(prefix, f"message of {length} bytes: over the {MAX_MESSAGE_BYTES}-byte "
                                            "limit; not parsed")
                continue
            key = {"message": index + 1, "offset": offset, "length": length}
            try:
                for item in attachment_members(data, prefix, key, budget):
                    if isinstance(item, Member):
                        item.details["mbox_from"] = clean(from_line.decode("latin-1"), 200)
                    yield item
            except BudgetExceeded:
                raise
            except ExpansionError as error:
                yield MemberProblem(prefix, str(error))

    def open_member(self, container: IO[bytes], key: dict[str, Any], budget: ExpansionBudget) -> IO[bytes]:
        try:
            offset, length = int(key["offset"]), int(key["length"])
        except (KeyError, TypeError, ValueError) as error:
            raise ExpansionError(f"not an MBOX member key: {key!r}") from error
        if not 0 <= length <= MAX_MESSAGE_BYTES or offset < 0:
            raise ExpansionError(f"MBOX message of {length} bytes at {offset}: out of bounds")
        container.seek(offset)
        message = parse_message(container.read(length))
        return reopen(decoded(part_at(message, list(key.get("part") or []))), budget)
