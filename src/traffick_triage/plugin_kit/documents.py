"""Reading the non-SQLite files artifacts live in: property lists (binary
and XML, NSKeyedArchiver archives inside them), JSON and XML, each bounded
against hostile input. Every reader raises :class:`DocumentError` (a
ValueError with one line saying what is wrong) and nothing else for bad
input, so a plugin can turn it into one ``ctx.warn`` and go on.

Choices: plists are read with the standard library's plistlib (binary and
XML; its XML reader refuses entity declarations). NSKeyedArchiver archives
are unarchived here, on plistlib's UID type, rather than with
nska_deserialize or bpylist2: nska_deserialize keeps its recursion guard in
module globals (not reset after an error, shared between threads) and
expands shared references without a bound (an archive of n objects, each
naming the next twice, expands to 2^n); bpylist2 needs a class registered
for every archived class. The unarchiver below counts every object it
produces and every level it descends. XML is parsed with defusedxml, which
refuses DTDs, entity declarations and external references.
"""

from __future__ import annotations

import datetime as _dt
import json
import plistlib
import struct
import xml.parsers.expat
from typing import Any, Callable
from xml.etree.ElementTree import Element

import defusedxml.ElementTree
from defusedxml import DefusedXmlException

MAX_DOCUMENT_BYTES = 32 << 20      # a settings file is kilobytes; a 32 MiB one is read no further
MAX_ARCHIVE_OBJECTS = 200_000      # objects one NSKeyedArchiver archive may expand to
MAX_ARCHIVE_DEPTH = 64             # nesting of one archive (real ones nest a handful of levels)
_COCOA_EPOCH = _dt.datetime(2001, 1, 1)


class DocumentError(ValueError):
    """A file or value that is not the document it should be (one line)."""


def read_document(file: Any, what: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The content of a plugin's file, refused when longer than ``max_bytes``."""
    if file.size > max_bytes:
        raise DocumentError(f"{what} is {file.size} bytes, over the {max_bytes}-byte limit; not read")
    return file.read(max_bytes)


def _guarded(what: str, parse: Callable[[], Any]) -> Any:
    try:
        return parse()
    except RecursionError:
        raise DocumentError(f"{what}: nested too deeply") from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, struct.error, UnicodeError,
            MemoryError, xml.parsers.expat.ExpatError, DefusedXmlException) as error:
        if isinstance(error, DocumentError):
            raise
        raise DocumentError(f"{what}: {type(error).__name__}: {str(error)[:200]}") from None


# --- property lists ------------------------------------------------------------------------

def load_plist(data: bytes, what: str = "property list") -> Any:
    """A binary or XML property list as Python values (dict, list, str,
    bytes, int, float, bool, naive UTC datetime, plistlib.UID)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{what}: over the {MAX_DOCUMENT_BYTES}-byte limit; not read")
    return _guarded(what, lambda: plistlib.loads(data))


def plist_dictionary(file: Any, ctx: Any, plugin: str, reads: str) -> dict[str, Any] | None:
    """A plugin's plist file whose top is a dictionary, or None after one
    warning naming the file (not a plist, too large, another top type);
    ``reads`` names what the plugin then reads from it, for that warning."""
    try:
        document = load_plist(read_document(file, file.locator), file.locator)
    except DocumentError as error:
        ctx.warn(f"{plugin}: {error}")
        return None
    if not isinstance(document, dict):
        ctx.warn(f"{plugin}: {file.locator}: not a dictionary at the top; no {reads} read")
        return None
    return document


def is_keyed_archive(value: Any) -> bool:
    """Whether a parsed plist is an NSKeyedArchiver archive."""
    return (isinstance(value, dict) and value.get("$archiver") == "NSKeyedArchiver"
            and isinstance(value.get("$objects"), list) and isinstance(value.get("$top"), dict))


def unarchive(data: bytes | Any, what: str = "NSKeyedArchiver archive") -> Any:
    """The object graph of an NSKeyedArchiver archive (bytes of a plist, or
    the plist already parsed) as plain values: NSDictionary -> dict,
    NSArray/NSSet -> list, NSString -> str, NSData -> bytes, NSDate -> naive
    UTC datetime, NSURL -> str, $null -> None, any other object -> dict of its
    keys with "$class" naming its class. The root is ``$top["root"]`` when
    the archive has one, else the whole ``$top`` resolved."""
    archive = load_plist(data, what) if isinstance(data, (bytes, bytearray, memoryview)) else data
    if not is_keyed_archive(archive):
        raise DocumentError(f"{what}: not an NSKeyedArchiver archive")
    return _guarded(what, lambda: _Unarchiver(archive["$objects"], what).top(archive["$top"]))


class _Unarchiver:
    def __init__(self, objects: list[Any], what: str) -> None:
        self.objects = objects
        self.what = what
        self.produced = 0

    def top(self, top: dict[str, Any]) -> Any:
        if "root" in top:
            return self.resolve(top["root"], 0)
        return {str(key): self.resolve(value, 0) for key, value in sorted(top.items(), key=lambda kv: str(kv[0]))}

    def _object(self, uid: plistlib.UID) -> Any:
        if not 0 <= uid.data < len(self.objects):
            raise DocumentError(f"{self.what}: reference {uid.data} outside its {len(self.objects)} objects")
        return self.objects[uid.data]

    def class_name(self, value: dict[str, Any]) -> str | None:
        reference = value.get("$class")
        if isinstance(reference, plistlib.UID):
            described = self._object(reference)
            if isinstance(described, dict) and isinstance(described.get("$classname"), str):
                return described["$classname"]
        return None

    def resolve(self, value: Any, depth: int) -> Any:
        self.produced += 1
        if self.produced > MAX_ARCHIVE_OBJECTS:
            raise DocumentError(f"{self.what}: expands to more than {MAX_ARCHIVE_OBJECTS} objects; not read")
        if depth > MAX_ARCHIVE_DEPTH:
            raise DocumentError(f"{self.what}: nested deeper than {MAX_ARCHIVE_DEPTH} levels (a cycle?); not read")
        if isinstance(value, plistlib.UID):
            value = self._object(value)
            if value == "$null":
                return None
        if isinstance(value, list):
            return [self.resolve(item, depth + 1) for item in value]
        if not isinstance(value, dict):
            return value
        if "NS.keys" in value and "NS.objects" in value:
            keys, items = value["NS.keys"], value["NS.objects"]
            if not isinstance(keys, list) or not isinstance(items, list) or len(keys) != len(items):
                raise DocumentError(f"{self.what}: a dictionary whose keys and objects differ in number")
            return {_key(self.resolve(key, depth + 1)): self.resolve(item, depth + 1) for key, item in zip(keys, items)}
        if "NS.objects" in value:
            return self.resolve(value["NS.objects"], depth + 1)
        if "NS.string" in value:
            return str(self.resolve(value["NS.string"], depth + 1))
        for key in ("NS.bytes", "NS.data"):
            if key in value:
                return self.resolve(value[key], depth + 1)
        if "NS.time" in value and isinstance(value["NS.time"], (int, float)):
            return _COCOA_EPOCH + _dt.timedelta(seconds=value["NS.time"])
        if "NS.relative" in value:
            base = self.resolve(value.get("NS.base"), depth + 1)
            relative = self.resolve(value["NS.relative"], depth + 1)
            return f"{base or ''}{relative or ''}"
        result = {"$class": self.class_name(value)}
        for key, item in value.items():
            if key != "$class":
                result[str(key)] = self.resolve(item, depth + 1)
        return result


def _key(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)


# --- JSON and XML ---------------------------------------------------------------------------

def load_json(data: bytes | str, what: str = "JSON document") -> Any:
    """A JSON document; NaN/Infinity (not JSON) are refused, depth is bounded
    by the interpreter's recursion limit (a deeper one is a DocumentError)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{what}: over the {MAX_DOCUMENT_BYTES}-byte limit; not read")

    def refuse(constant: str) -> Any:
        raise DocumentError(f"{what}: {constant} is not JSON")

    return _guarded(what, lambda: json.loads(data, parse_constant=refuse))


def load_xml(data: bytes, what: str = "XML document") -> Element:
    """The root element of an XML document, parsed by defusedxml: a DTD,
    an entity declaration or an external reference is refused."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{what}: over the {MAX_DOCUMENT_BYTES}-byte limit; not read")
    return _guarded(what, lambda: defusedxml.ElementTree.fromstring(
        data, forbid_dtd=True, forbid_entities=True, forbid_external=True))
