"""A base class for plugins that read one SQLite artifact, in the spirit of
plaso's SQLite plugins: the plugin declares where the database lives
(``PATHS``), the queries it runs, and for each query the schema versions it
knows (the tables and columns each needs, newest first); the base does the
rest through the access layer (``traffick_triage.sqlite_access``): the
scratch copy with its ``-wal``/``-shm``/``-journal``, the bounds, picking
the version whose tables and columns are present, one warning naming the
file and table when a query cannot be read, and the rows as the app saw them.

The plugin author writes one method per query that turns one row into
findings::

    class MyBrowser(SqliteArtifactPlugin):
        NAME = "my_browser"
        VERSION = "1.0"
        DESCRIPTION = "MyBrowser history (history.db: visits)"
        PATHS = ("**/com.example.browser/databases/history.db",)
        QUERIES = (SqlQuery("web visits", "visit", (
            QueryVersion("v2", {"visits": ("id", "url", "time")},
                         "SELECT id, url, time FROM visits ORDER BY id"),)),)

        def visit(self, row, source):
            yield WebVisit(url=row["url"], title=None, visit_time=unix_ms_iso(row["time"]),
                           source_app="MyBrowser", source_record_id=str(row["id"]))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Iterator, Mapping, Sequence

from ..plugin_api import Context, FileView, Finding, Plugin, Selector
from ..sqlite_access import Database, SchemaVersion, is_sqlite, open_database


@dataclass(frozen=True)
class QueryVersion:
    """One known layout for a query: the tables and columns it needs, and the
    SQL that reads it. In ``sql``, ``{optional}`` is replaced by the columns
    of ``optional`` (table -> columns), each ``table."column" AS "column"``
    when present or ``NULL AS "column"`` when this file lacks it: columns
    that came and went within one layout."""

    name: str
    tables: Mapping[str, Sequence[str]]
    sql: str
    optional: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def table(self) -> str:
        """The table named in warnings: the first one the version needs."""
        return next(iter(self.tables), "?")

    def render(self, db: Database) -> str:
        if "{optional}" not in self.sql:
            return self.sql
        columns = [db.column(table, name) for table, names in self.optional.items() for name in names]
        return self.sql.replace("{optional}", ", ".join(columns) if columns else "NULL AS _no_optional")


@dataclass(frozen=True)
class SqlQuery:
    """What one query reads (``what``, e.g. "web visits", used in warnings),
    the plugin method that turns one of its rows into findings (``method``),
    and its known versions, newest first. A query whose tables are all
    absent is a warning unless ``required`` is False (a table some files of
    the artifact never have, such as ``downloads`` in Chrome's "Archived
    History"); a query whose tables are present with unknown columns is
    always a warning: an empty result is never silent."""

    what: str
    method: str
    versions: tuple[QueryVersion, ...]
    required: bool = True


@dataclass(frozen=True)
class RowSource:
    """Where a row comes from, for the plugin's row method: the file, the
    version the query matched, and the database (for lookups a method needs)."""

    file: FileView
    version: str
    db: Database


class SqliteArtifactPlugin(Plugin):
    """Subclass this and set NAME, VERSION, DESCRIPTION, PATHS, QUERIES (and
    NAMES when the file's name alone is common); write one method per query.

    ``PATHS`` are globs of the artifact's on-device paths: a file there that
    is not the database the plugin knows gets a warning. ``NAMES`` are
    globs of a base name the artifact has wherever it is (Chromium's
    "History" in any browser's profile folder): such a file is read only when
    one query's version matches it, and left alone without a warning when
    none does (many apps name a file "History"). SELECTOR is made from both.
    """

    PATHS: ClassVar[tuple[str, ...]] = ()
    NAMES: ClassVar[tuple[str, ...]] = ()
    QUERIES: ClassVar[tuple[SqlQuery, ...]] = ()
    MAX_SIZE: ClassVar[int | None] = None
    SCHEMAS: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "SELECTOR" not in cls.__dict__ and (cls.PATHS or cls.NAMES):
            cls.SELECTOR = Selector(globs=tuple(cls.PATHS) + tuple(cls.NAMES), max_size=cls.MAX_SIZE)
        for query in cls.QUERIES:
            if not callable(getattr(cls, query.method, None)):
                raise TypeError(f"{cls.__name__}: query {query.what!r} names method {query.method!r}, "
                                "which the class does not define")
        if "SCHEMAS" not in cls.__dict__:
            # Every known version per query, as the hand-written plugins
            # document theirs (docs/coverage.md lists them).
            cls.SCHEMAS = {f"{query.what}: {version.name}": ", ".join(
                f"{table}({', '.join(columns)})" for table, columns in version.tables.items())
                for query in cls.QUERIES for version in query.versions}

    def extract(self, file: FileView, ctx: Context) -> Iterator[Finding]:
        at_known_path = Selector(globs=tuple(self.PATHS)).matches(file.path, "", 0) if self.PATHS else False
        if not at_known_path and not is_sqlite(file):
            return      # named like the artifact, somewhere else, and not a database: not ours
        with open_database(file, ctx, self.NAME) as db:
            if db is None:
                return
            picked = [(query, self._pick(db, query)) for query in self.QUERIES]
            if not at_known_path and all(version is None for _query, version in picked):
                return  # a file of the same name that is another app's database
            for query, version in picked:
                if version is None:
                    self._explain(db, query)
                    continue
                source = RowSource(file, version.name, db)
                method = getattr(self, query.method)
                for row in db.rows(version.render(db), table=version.table):
                    yield from _as_findings(method(row, source))

    @staticmethod
    def _pick(db: Database, query: SqlQuery) -> QueryVersion | None:
        versions = [SchemaVersion(version.name, version.tables) for version in query.versions]
        chosen = db.pick(versions)
        return None if chosen is None else next(v for v in query.versions if v.name == chosen.name)

    @staticmethod
    def _explain(db: Database, query: SqlQuery) -> None:
        """One warning saying which versions were looked for and what the
        closest one lacks; silent when an optional query's tables are absent."""
        tables = {table.lower() for version in query.versions for table in version.tables}
        if not query.required and not any(db.exists(table) for table in tables):
            return
        closest = min(query.versions, key=lambda version: len(db.missing(version.tables)))
        known = ", ".join(version.name for version in query.versions)
        db.warn(f"no {query.what} read: no known layout matches (known: {known}); "
                f"closest {closest.name} lacks {', '.join(db.missing(closest.tables))}")


def _as_findings(result: Finding | Iterable[Finding] | None) -> Iterator[Finding]:
    if result is None:
        return
    if isinstance(result, Finding):
        yield result
    else:
        yield from result
