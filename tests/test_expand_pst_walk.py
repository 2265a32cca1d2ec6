"""The PST expander's walk (folders, messages, attachments, names, keys,
bounds) over a stand-in for pypff's objects: no PST writer exists on Linux
and no public PST sample is at hand, so libpff itself is exercised only on
damaged files (test_expand_mail.py). The stand-in offers only methods the
real pypff classes have (checked below), and the oracle is the planted bytes."""

from __future__ import annotations

import io

import pytest

from expansion_testlib import SimpleBudget, expand_all
from traffick_triage.expansion.api import Member, MemberProblem
from traffick_triage.expansion.readers import pst

FILETIME_2024 = 133_485_408_000_000_000   # 2024-01-01T00:00:00Z in 100 ns since 1601


class FakeAttachment:
    def __init__(self, data: bytes | None, name: str | None) -> None:
        self.data, self.name, self.offset = data, name, 0

    def get_size(self):
        return None if self.data is None else len(self.data)

    def get_long_filename(self):
        return self.name

    def seek_offset(self, offset: int) -> None:
        self.offset = offset

    def read_buffer(self, size: int) -> bytes:
        chunk = self.data[self.offset:self.offset + size]
        self.offset += len(chunk)
        return chunk


class FakeMessage:
    def __init__(self, subject: str, attachments: list[FakeAttachment]) -> None:
        self.subject, self.attachments = subject, attachments

    def get_number_of_attachments(self):
        return len(self.attachments)

    def get_attachment(self, index):
        return self.attachments[index]

    def get_subject(self):
        return self.subject

    def get_sender_name(self):
        return "Alice"

    def get_transport_headers(self):
        return ("From: alice@example.org\r\nTo: bob@example.org\r\nSubject: " + self.subject +
                "\r\nDate: Tue, 02 Jan 2024 10:00:00 -0500\r\nMessage-ID: <x@example.org>\r\n\r\n")

    def get_client_submit_time_as_integer(self):
        return FILETIME_2024

    def get_delivery_time_as_integer(self):
        return 0


class FakeFolder:
    def __init__(self, name, messages=(), folders=()) -> None:
        self.name, self.messages, self.folders = name, list(messages), list(folders)

    def get_name(self):
        return self.name

    def get_number_of_sub_messages(self):
        return len(self.messages)

    def get_number_of_sub_folders(self):
        return len(self.folders)

    def get_sub_message(self, index):
        return self.messages[index]

    def get_sub_folder(self, index):
        return self.folders[index]


class FakePypff:
    def __init__(self, root: FakeFolder) -> None:
        self.root = root

    def get_version(self):
        return "stand-in"

    def file(self):
        root = self.root

        class File:
            def open_file_object(self, stream):
                stream.read(4)

            def get_root_folder(self):
                return root

            def close(self):
                pass
        return File()


USED = {"file": ["open_file_object", "get_root_folder", "close"],
        "folder": ["get_name", "get_number_of_sub_messages", "get_number_of_sub_folders", "get_sub_message",
                   "get_sub_folder"],
        "message": ["get_number_of_attachments", "get_attachment", "get_subject", "get_sender_name",
                    "get_transport_headers", "get_client_submit_time_as_integer", "get_delivery_time_as_integer"],
        "attachment": ["get_size", "get_long_filename", "seek_offset", "read_buffer"]}


def test_the_stand_in_uses_only_what_pypff_offers():
    pypff = pytest.importorskip("pypff")
    for class_name, methods in USED.items():
        for method in methods:
            assert hasattr(getattr(pypff, class_name), method), f"pypff.{class_name}.{method}"


def _tree():
    photo, big = b"\xff\xd8\xff" + bytes(range(256)) * 10, bytes(range(256)) * 9000   # big: read in pieces
    inbox = FakeFolder("Inbox", [FakeMessage("first", [FakeAttachment(photo, "photo.jpg"),
                                                       FakeAttachment(None, None)]),
                                 FakeMessage("no attachments", [])])
    sub = FakeFolder("Old/../stuff", [FakeMessage("second", [FakeAttachment(big, None)])])
    inbox.folders.append(sub)
    root = FakeFolder("", folders=[FakeFolder("Top of Personal Folders", folders=[inbox])])
    return root, photo, big


def test_every_attachment_of_every_folder(monkeypatch):
    root, photo, big = _tree()
    monkeypatch.setattr(pst, "_pypff", lambda: FakePypff(root))
    members, problems, contents = expand_all(pst.PstExpander(), b"!BDN" + bytes(600))
    assert contents == {"Top of Personal Folders/Inbox/msg 0001/attachment 1 photo.jpg": photo,
                        "Top of Personal Folders/Inbox/Old_.._stuff/msg 0001/attachment 1": big}
    assert [p.name for p in problems] == ["Top of Personal Folders/Inbox/msg 0001/attachment 2"]
    first = members[0]
    assert first.key == {"folder": [0, 0], "message": 0, "attachment": 0}
    assert first.details["subject"] == "first" and first.details["from"] == "alice@example.org"
    assert first.details["date_utc"] == "2024-01-02T15:00:00+00:00"
    assert first.details["client_submit_time"] == "2024-01-01T00:00:00+00:00"
    assert "delivery_time" not in first.details and first.size == len(photo)


def test_folders_nested_past_the_limit_are_one_problem(monkeypatch):
    leaf = FakeFolder("deep", [FakeMessage("deep", [FakeAttachment(b"x", "x.bin")])])
    for level in range(pst.MAX_FOLDER_DEPTH + 5):
        leaf = FakeFolder(f"level {level}", folders=[leaf])
    monkeypatch.setattr(pst, "_pypff", lambda: FakePypff(leaf))
    items = list(pst.PstExpander().members(io.BytesIO(b"!BDN"), SimpleBudget()))
    assert not [i for i in items if isinstance(i, Member)]
    assert len(items) == 1 and isinstance(items[0], MemberProblem) and "deeper" in items[0].message
