"""The one module plugin authors import.

A plugin is one class in one file. It declares what it is (NAME, VERSION,
DESCRIPTION) and which files it wants (SELECTOR); the engine hands it each
matching file as a read-only :class:`FileView` and collects the typed
:class:`Finding` objects it yields. A plugin never opens host paths, prints,
or writes files: problems go to ``ctx.warn`` and a library that needs a real
path (sqlite3 with its -wal/-shm companions) asks ``ctx.temp_copy``.

The API is versioned (``PLUGIN_API_VERSION``, "major.minor") because it
crosses a boundary: third-party packages register plugins through the
entry-point group ``traffick_triage.plugins``. A plugin says which version it
was written for in ``API_VERSION``; one written for another major version,
or for a newer minor version than this one, is refused at load.

The plugin kit (``traffick_triage.plugin_kit``: the SQLite artifact base,
plist/JSON/XML readers, the shared finding kinds and value helpers) is
re-exported here, so ``from traffick_triage.plugin_api import
SqliteArtifactPlugin, WebVisit`` works as well.
"""

from __future__ import annotations

import abc
import dataclasses
import fnmatch
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Iterator, Mapping, Protocol, Sequence

# 1.1: the plugin kit (plugin_kit), API_VERSION on plugins, helper modules in a --plugin-dir.
PLUGIN_API_VERSION = "1.1"


@dataclass(frozen=True)
class Selector:
    """Which files a plugin wants.

    ``mime_types`` are fnmatch patterns over the libmagic MIME type
    (``"image/*"``); ``globs`` are fnmatch patterns over the file's path inside
    its evidence, matched case-insensitively against the whole path and the
    base name (``"**/contacts2.db"`` or ``"*.vcf"``). A file is selected when
    any pattern of either kind matches. ``max_size`` skips larger files
    (None: no limit).
    """

    mime_types: tuple[str, ...] = ()
    globs: tuple[str, ...] = ()
    max_size: int | None = None

    def matches(self, path: str, mime: str, size: int) -> bool:
        if self.max_size is not None and size > self.max_size:
            return False
        # Every plugin's selector is asked about every file: the patterns are
        # compiled once into one regular expression per kind (what fnmatchcase
        # does pattern by pattern), 895,000 fnmatch calls on a 10,000-file tree.
        mime_re, path_re, base_re = _compiled(self.mime_types, self.globs)
        if mime_re is not None and mime_re.match((mime or "").lower()):
            return True
        if path_re is None:
            return False
        lowered = path.lower()
        return bool(path_re.match(lowered) or base_re.match(lowered.rsplit("/", 1)[-1]))

    def describe(self) -> str:
        parts = list(self.mime_types) + list(self.globs)
        return ", ".join(parts) if parts else "(nothing)"


@functools.lru_cache(maxsize=256)
def _compiled(mime_types: tuple[str, ...], globs: tuple[str, ...]
              ) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None, re.Pattern[str] | None]:
    """(MIME, whole path, base name) patterns of a selector as one regex each
    (fnmatch.translate, case folded as Selector.matches documents): a MIME
    type matches any MIME pattern; a path matches any glob, a "**/x" glob
    also as "*/x" and as "x" ("**/" is zero or more folders: an iTunes
    backup's "AppDomainGroup-.../CallHistory.sqlite" has no folder above the
    domain); a base name matches any glob without its "**/"."""
    def union(patterns: list[str]) -> re.Pattern[str] | None:
        return re.compile("|".join(fnmatch.translate(p) for p in patterns)) if patterns else None

    lowered = [g.lower() for g in globs]
    bare = [g[3:] if g.startswith("**/") else g for g in lowered]
    whole = lowered + [form for g, b in zip(lowered, bare) if g.startswith("**/") for form in ("*/" + b, b)]
    return union([m.lower() for m in mime_types]), union(whole), union(bare)


@dataclass(frozen=True)
class TimelineEvent:
    """One timestamped fact for the case timeline (Timesketch import format).

    ``datetime`` is ISO 8601 in UTC (``2024-05-01T10:11:12+00:00``), or None
    when the source time has no known offset; then ``local_time`` carries the
    wall-clock value as found and ``timezone`` is "unknown".
    """

    datetime: str | None
    timestamp_desc: str
    message: str
    local_time: str | None = None
    timezone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """Base of every typed finding. Subclasses are frozen dataclasses with a
    stable ``KIND`` ("exif.gps", "android.contact") and JSON-serialisable
    fields (str, int, float, bool, None, lists/tuples and dicts of those)."""

    KIND: ClassVar[str] = "finding"

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))

    def timeline_events(self) -> Sequence[TimelineEvent]:
        """Timestamped facts this finding contributes to the timeline."""
        return ()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


class FileView(Protocol):
    """What a plugin sees of one evidence file. Read-only."""

    locator: str          # printable chain, e.g. "phone.zip > sdcard/DCIM/1.jpg"
    path: str             # path inside its file system or archive, '/'-separated
    name: str             # base name
    size: int
    mime: str             # libmagic MIME type by content
    md5: str
    sha1: str
    sha256: str
    allocated: bool

    def open(self) -> IO[bytes]:
        """A fresh binary stream over the file's content."""

    def read(self, max_bytes: int | None = None) -> bytes:
        """The content (up to ``max_bytes``)."""

    def sibling(self, name: str) -> "FileView | None":
        """Another file in the same directory of the same evidence, by name
        (used for SQLite ``-wal``/``-shm`` companions); None if absent."""


class Context(Protocol):
    """Services the engine gives a plugin while it handles one file."""

    options: dict[str, Any]   # case options, e.g. {"region": "KW"}

    def warn(self, message: str) -> None:
        """Record a warning about the current file (counted in the report)."""

    def temp_copy(self, file: FileView, companions: Sequence[str] = ()) -> Path:
        """A read-only temporary copy of ``file`` on the host, verified by
        SHA-256 against the inventory; each name suffix in ``companions``
        (e.g. "-wal", "-shm") copies that sibling beside it when present.
        Removed by the engine after the plugin returns."""


class PluginOptionError(ValueError):
    """An option a plugin cannot work with (raised by ``check_options``)."""


class Plugin(abc.ABC):
    """Subclass this, set the class attributes, implement :meth:`extract`."""

    NAME: ClassVar[str]
    VERSION: ClassVar[str]
    DESCRIPTION: ClassVar[str]
    SELECTOR: ClassVar[Selector]
    # The plugin API version the plugin was written for ("major.minor").
    API_VERSION: ClassVar[str] = PLUGIN_API_VERSION

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Refuse options this plugin cannot work with, before the scan
        starts: raise :class:`PluginOptionError` with one line naming the
        option and the problem (an unreadable keyword list, an unknown
        region). The core asks every plugin, once per distinct set of options
        (the case's merged with each evidence item's), and a refusal stops
        the scan (exit 2): an option that would make :meth:`extract` fail on
        every file must never switch a plugin off silently. Default: no
        checks."""

    @abc.abstractmethod
    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        """Yield findings for one file. Raise or call ``ctx.warn`` on bad
        input; the engine turns an exception into a counted warning."""


def api_version_problem(declared: object) -> str | None:
    """Why a plugin declaring ``declared`` cannot run on this API, or None.
    Same major version and a minor version no newer than this one's run; a
    1.0 plugin runs on 1.1 (minor versions only add)."""
    ours = tuple(int(part) for part in PLUGIN_API_VERSION.split("."))
    if not isinstance(declared, str) or not re.fullmatch(r"\d+\.\d+", declared.strip()):
        return f"API_VERSION must be \"major.minor\" (this traffick-triage has {PLUGIN_API_VERSION}), not {declared!r}"
    wanted = tuple(int(part) for part in declared.strip().split("."))
    if wanted[0] != ours[0]:
        return (f"written for plugin API {declared}; this traffick-triage has {PLUGIN_API_VERSION} "
                f"(another major version: the plugin must be ported)")
    if wanted[1] > ours[1]:
        return (f"written for plugin API {declared}; this traffick-triage has {PLUGIN_API_VERSION} "
                "(older: upgrade traffick-triage)")
    return None


def __getattr__(name: str) -> Any:
    # The kit imports this module, so it is re-exported on first use rather
    # than imported at the top (which would be an import cycle).
    from . import plugin_kit

    if name in plugin_kit.__all__:
        return getattr(plugin_kit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
