"""The attachments of one e-mail message file (RFC 5322, ``.eml``), read with
the standard library's ``email`` package (policy.default). Base64 and
quoted-printable parts are given decoded: the attachment's own bytes."""

from __future__ import annotations

from typing import IO, Any, Iterator

from ..api import ExpansionBudget, ExpansionError, Expander, Member, MemberProblem, Probe
from ._mime_parts import (MAX_MESSAGE_BYTES, Attachment, attachments, decoded, looks_like_mail_headers,
                          parse_message, part_at, reopen)


def read_message(container: IO[bytes]) -> bytes:
    container.seek(0)
    data = container.read(MAX_MESSAGE_BYTES + 1)
    if len(data) > MAX_MESSAGE_BYTES:
        raise ExpansionError(f"message larger than {MAX_MESSAGE_BYTES} bytes; not parsed")
    return data


def attachment_members(data: bytes, prefix: str, key: dict[str, Any],
                       budget: ExpansionBudget) -> Iterator[Member | MemberProblem]:
    """The members of one message's bytes; ``prefix`` and ``key`` say which message."""
    message = parse_message(data)
    for found in attachments(message):
        if not isinstance(found, Attachment):
            yield MemberProblem(prefix + found[0], found[1])
            continue
        content = found.content
        reason = budget.member_limit(len(content), None)   # the walk's member size cap and budget
        if reason:
            yield MemberProblem(prefix + found.name, reason)
            continue
        yield Member(name=prefix + found.name, key=dict(key, part=list(found.path)), size=len(content),
                     details=found.details, notes=found.notes,
                     opener=lambda content=content: reopen(content, budget))


class EmlExpander(Expander):
    NAME = "eml"
    VERSION = "1"
    DESCRIPTION = "attachments and inline pictures of an e-mail message file, forwarded messages included"

    @classmethod
    def library(cls) -> str:
        import sys
        return f"Python email package (Python {sys.version.split()[0]})"

    def claims(self, probe: Probe) -> bool:
        if probe.head.startswith(b"From "):
            return False   # an MBOX
        return looks_like_mail_headers(probe.head)

    def members(self, container: IO[bytes], budget: ExpansionBudget) -> Iterator[Member | MemberProblem]:
        yield from attachment_members(read_message(container), "", {}, budget)

    def open_member(self, container: IO[bytes], key: dict[str, Any], budget: ExpansionBudget) -> IO[bytes]:
        message = parse_message(read_message(container))
        return reopen(decoded(part_at(message, list(key.get("part") or []))), budget)

