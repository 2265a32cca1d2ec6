"""Apple Notes on iOS (and macOS): ``NoteStore.sqlite`` in the Notes app
group (iOS 9 to 17).

Schema understood: notes are the rows of ``ZICCLOUDSYNCINGOBJECT`` whose
``Z_ENT`` is the entity ``Z_PRIMARYKEY`` names "ICNote": ``ZTITLE1`` (the
title), ``ZSNIPPET`` (the text the list shows), ``ZMODIFICATIONDATE1``,
``ZFOLDER`` (its folder, a row of the same table whose title is
``ZTITLE2``); the creation date is ``ZCREATIONDATE3`` (iOS 15+),
``ZCREATIONDATE1`` or ``ZCREATIONDATE`` (older), whichever is present and
set; ``ZISPASSWORDPROTECTED`` and ``ZMARKEDFORDELETION`` when present.
Dates are Cocoa seconds.

Not read yet: the note body, a gzipped protobuf in ``ZICNOTEDATA.ZDATA``;
the snippet is the start of the text as the app shows it in its list, and
a locked note has neither (its body is encrypted).
"""

from __future__ import annotations

from typing import Iterator

from ..plugin_kit import Note, QueryVersion, RowSource, SqlQuery, SqliteArtifactPlugin, as_text, clean, cocoa_iso, flag

NOTES = QueryVersion(
    "ICNote in ZICCLOUDSYNCINGOBJECT (iOS 9-17)",
    {"ZICCLOUDSYNCINGOBJECT": ("Z_PK", "Z_ENT", "ZTITLE1", "ZSNIPPET", "ZMODIFICATIONDATE1", "ZFOLDER", "ZTITLE2"),
     "Z_PRIMARYKEY": ("Z_ENT", "Z_NAME")},
    "SELECT ZICCLOUDSYNCINGOBJECT.Z_PK, ZICCLOUDSYNCINGOBJECT.ZTITLE1, ZICCLOUDSYNCINGOBJECT.ZSNIPPET, "
    "ZICCLOUDSYNCINGOBJECT.ZMODIFICATIONDATE1, {optional}, folder.ZTITLE2 AS folder_title "
    "FROM ZICCLOUDSYNCINGOBJECT LEFT JOIN ZICCLOUDSYNCINGOBJECT AS folder "
    "ON folder.Z_PK = ZICCLOUDSYNCINGOBJECT.ZFOLDER "
    "WHERE ZICCLOUDSYNCINGOBJECT.Z_ENT = (SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME = 'ICNote') "
    "ORDER BY ZICCLOUDSYNCINGOBJECT.Z_PK",
    optional={"ZICCLOUDSYNCINGOBJECT": ("ZCREATIONDATE3", "ZCREATIONDATE1", "ZCREATIONDATE",
                                        "ZISPASSWORDPROTECTED", "ZMARKEDFORDELETION")})


class IosNotesPlugin(SqliteArtifactPlugin):
    """Notes (titles, snippets, dates, folders) from NoteStore.sqlite."""

    NAME = "ios_notes"
    VERSION = "1.0"
    DESCRIPTION = "Apple Notes (NoteStore.sqlite: ICNote rows of ZICCLOUDSYNCINGOBJECT; snippets, not bodies)"
    PATHS = ("**/group.com.apple.notes/NoteStore.sqlite", "**/Shared/AppGroup/*/NoteStore.sqlite",
             "NoteStore.sqlite")
    QUERIES = (SqlQuery("notes", "note", (NOTES,)),)

    def note(self, row, source: RowSource) -> Iterator[Note]:
        created = next((cocoa_iso(row[name]) for name in ("ZCREATIONDATE3", "ZCREATIONDATE1", "ZCREATIONDATE")
                        if cocoa_iso(row[name])), None)
        yield Note(
            title=clean(row["ZTITLE1"]), snippet=as_text(row["ZSNIPPET"]), created=created,
            modified=cocoa_iso(row["ZMODIFICATIONDATE1"]), source_app="Apple Notes",
            folder=clean(row["folder_title"]), locked=flag(row["ZISPASSWORDPROTECTED"]),
            deleted=flag(row["ZMARKEDFORDELETION"]), source_record_id=str(row["Z_PK"]))
