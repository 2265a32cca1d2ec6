"""sqlite_access: the SQLite layer every phone plugin and the identifiers
plugin read through. Real-device shapes (FTS with Apple's tokenizer, Android's
PHONEBOOK collation and app functions in views, a hot rollback journal) and
hostile ones (a view yielding a 300 MB value, an endless recursive view)
are built here with the stock sqlite3 module."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from comms_testlib import build_db, run_untouched
from evidence_builders import load_report
from traffick_triage.plugin_host import file_view_for_path, run_plugin
from traffick_triage.plugins.android_calllog import AndroidCallLogPlugin
from traffick_triage.plugins.android_contacts2 import AndroidContacts2Plugin
from traffick_triage.plugins.identifiers import IdentifiersPlugin
from traffick_triage.plugins.ios_addressbook import IosAddressBookPlugin
from traffick_triage.plugins.ios_sms import IosSmsPlugin
from traffick_triage.sqlite_access import SqliteBounds, connect

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)
RSS_LIMIT = 400 << 20      # documented in docs/security.md

ADDRESSBOOK = """
CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, First TEXT, Last TEXT, Middle TEXT,
    Organization TEXT, CreationDate INTEGER, ModificationDate INTEGER);
CREATE TABLE ABMultiValue (UID INTEGER PRIMARY KEY, record_id INTEGER, property INTEGER, identifier INTEGER,
    label INTEGER, value TEXT);
CREATE VIRTUAL TABLE ABPersonFullTextSearch USING fts4(tokenize=simple, First, Last);
INSERT INTO ABPerson VALUES (1, 'Amal', 'Haddad', NULL, NULL, 700000000, 700000100);
INSERT INTO ABPerson VALUES (2, 'Noor', NULL, NULL, 'Agency', 700000000, 700000100);
INSERT INTO ABMultiValue VALUES (1, 1, 3, 0, 1, '+965 5555 0101');
INSERT INTO ABPersonFullTextSearch (docid, First, Last) VALUES (1, 'Amal', 'Haddad');
"""


def _rename_in_schema(path: Path, old: str, new: str) -> None:
    """Rewrite the stored CREATE text, as a device's own SQLite build would
    have written it (a tokenizer or collation this process does not have)."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA writable_schema = ON")
    connection.execute("UPDATE sqlite_master SET sql = replace(sql, ?, ?)", (old, new))
    connection.commit()
    connection.close()


def test_addressbook_with_apple_tokenizer_reads_every_contact(tmp_path):
    db = build_db(tmp_path / "AddressBook.sqlitedb", ADDRESSBOOK)
    _rename_in_schema(db, "tokenize=simple", 'tokenize=ab_cf_tokenizer language="en-US"')
    with sqlite3.connect(db) as oracle:   # the FTS table really is unreadable here
        try:
            oracle.execute("SELECT * FROM ABPersonFullTextSearch").fetchall()
            raise AssertionError("the tokenizer should be unknown")
        except sqlite3.OperationalError as error:
            assert "tokenizer" in str(error)
        count = oracle.execute("SELECT COUNT(*) FROM ABPerson").fetchone()[0]
    oracle.close()

    run = run_untouched(IosAddressBookPlugin(), db)
    assert run.warnings == []
    assert len(run.findings) == count == 2
    assert run.findings[0].phone_numbers == ("+965 5555 0101",)

    # The identifiers plugin reads the same file: the FTS table is skipped,
    # its shadow table (plain text) is read, and nothing warns.
    identifiers = run_plugin(IdentifiersPlugin(), file_view_for_path(db, mime="application/vnd.sqlite3"),
                             {"region": "KW"}, timeout=None)
    assert identifiers.warnings == []
    assert any("ABMultiValue.value" in getattr(f, "location", "") for f in identifiers.findings)


CONTACTS2 = """
CREATE TABLE accounts (_id INTEGER PRIMARY KEY, account_name TEXT, account_type TEXT);
CREATE TABLE raw_contacts (_id INTEGER PRIMARY KEY, account_id INTEGER, contact_id INTEGER,
    display_name TEXT COLLATE LOCALIZED, deleted INTEGER);
CREATE TABLE mimetypes (_id INTEGER PRIMARY KEY, mimetype TEXT);
CREATE TABLE data (_id INTEGER PRIMARY KEY, mimetype_id INTEGER, raw_contact_id INTEGER, data1 TEXT);
CREATE INDEX raw_contact_sort_key ON raw_contacts (display_name COLLATE PHONEBOOK);
CREATE VIEW view_raw_contacts AS SELECT _id, display_name, _PHONE_NUMBER_STRIPPED_REVERSED(display_name) AS rev
    FROM raw_contacts ORDER BY display_name COLLATE PHONEBOOK;
INSERT INTO accounts VALUES (1, 'owner@example.com', 'com.google');
INSERT INTO raw_contacts VALUES (1, 1, 1, 'Farid', 0);
INSERT INTO raw_contacts VALUES (2, 1, 2, 'Basma', 1);
INSERT INTO mimetypes VALUES (1, 'vnd.android.cursor.item/phone_v2');
INSERT INTO data VALUES (1, 1, 1, '+96555550102');
"""


def _android_connection(path: Path) -> sqlite3.Connection:
    """Builds the file as ContactsProvider does: its collations and function exist."""
    connection = sqlite3.connect(path)
    for name in ("PHONEBOOK", "LOCALIZED"):
        connection.create_collation(name, lambda a, b: (a > b) - (a < b))
    connection.create_function("_PHONE_NUMBER_STRIPPED_REVERSED", 1, lambda value: value)
    return connection


def test_contacts2_with_phonebook_collation_and_app_function(tmp_path):
    db = tmp_path / "contacts2.db"
    connection = _android_connection(db)
    connection.executescript(CONTACTS2)
    connection.close()

    run = run_untouched(AndroidContacts2Plugin(), db)
    assert run.warnings == []
    assert [(c.name, c.phone_numbers, c.deleted, c.account) for c in run.findings] == [
        ("Farid", ("+96555550102",), False, "owner@example.com"), ("Basma", (), True, "owner@example.com")]

    # The view itself compiles with the fallbacks: the collation orders, the
    # unknown function yields NULL instead of making the view unreadable.
    warnings: list[str] = []
    with connect(db, "test", warnings.append) as database:
        rows = list(database.rows("SELECT display_name, rev FROM view_raw_contacts", table="view_raw_contacts"))
        assert [(row[0], row[1]) for row in rows] == [("Basma", None), ("Farid", None)]
        assert database.has("view_raw_contacts", "rev")
    assert warnings == []


def test_one_unreadable_table_warns_once_and_the_rest_is_read(tmp_path):
    db = build_db(tmp_path / "AddressBook.sqlitedb", ADDRESSBOOK + """
        CREATE VIEW ABMultiValue_broken AS SELECT * FROM no_such_table;""")
    warnings: list[str] = []
    with connect(db, "plugin: AddressBook.sqlitedb", warnings.append) as database:
        assert database.columns("ABMultiValue_broken") is None
        assert database.columns("ABMultiValue_broken") is None   # cached: one warning only
        assert database.has("ABPerson", "First", "Last")
        assert len(list(database.rows("SELECT * FROM ABPerson", table="ABPerson"))) == 2
    assert len(warnings) == 1
    assert "AddressBook.sqlitedb" in warnings[0] and "ABMultiValue_broken" in warnings[0]
    assert "no_such_table" in warnings[0]


def test_schema_error_text_with_invalid_utf8_is_a_warning(tmp_path):
    """Found by fuzz/fuzz_sqlite_plugins.py: SQLite's "malformed database
    schema" message quotes the damaged bytes, and Python's sqlite3 raises
    UnicodeDecodeError while decoding it (not sqlite3.Error)."""
    db = tmp_path / "sms.db"
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE t (x)")
    connection.execute("PRAGMA writable_schema = ON")
    connection.execute("UPDATE sqlite_master SET name = CAST(X'74FF' AS TEXT), "
                       "sql = CAST(X'435245415445205441424C4520FF28' AS TEXT)")
    connection.commit()
    connection.close()
    run = run_untouched(IosSmsPlugin(), db)
    assert run.findings == []
    assert len(run.warnings) == 1 and "not readable as an SQLite database" in run.warnings[0]
    assert "sms.db" in run.warnings[0]
    identifiers = run_plugin(IdentifiersPlugin(), file_view_for_path(db, mime="application/vnd.sqlite3"),
                             {"region": "KW"}, timeout=None)
    assert len(identifiers.warnings) == 1 and identifiers.warnings[0].startswith("sqlite: ")


def test_values_of_the_wrong_type_are_not_errors(tmp_path):
    """Found by fuzz/fuzz_sqlite_plugins.py: SQLite types values, not
    columns, so a time can be text and a duration a BLOB. The record is still
    reported, with what cannot be a time or a number left empty."""
    db = build_db(tmp_path / "calllog.db", """
        CREATE TABLE calls (_id INTEGER PRIMARY KEY, number TEXT, date INTEGER, duration INTEGER, type INTEGER);
        INSERT INTO calls VALUES (1, '+96555550106', 'hi', X'00', 1);
        INSERT INTO calls VALUES (2, '+96555550107', '1700000000000', '12', 2);""")
    run = run_untouched(AndroidCallLogPlugin(), db)
    assert run.warnings == []
    assert [(c.number, c.start_time, c.duration_s) for c in run.findings] == [
        ("+96555550106", None, None), ("+96555550107", "2023-11-14T22:13:20+00:00", 12.0)]


def test_hot_journal_is_rolled_back_on_the_copy(tmp_path):
    """An interrupted transaction: the database file already holds changed
    pages, the -journal the originals. The app would see the originals."""
    live = tmp_path / "live"
    live.mkdir()
    db = build_db(live / "sms.db", """
        CREATE TABLE message (ROWID INTEGER PRIMARY KEY, text TEXT, handle_id INTEGER, date INTEGER,
            is_from_me INTEGER);
        CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT);
        INSERT INTO handle VALUES (1, '+96555550103');""",
        {"message": [(n, f"original {n} " + "x" * 200, 1, 700000000 + n, 0) for n in range(1, 401)]})
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA journal_mode = DELETE")
    writer.execute("PRAGMA cache_size = 2")          # spill changed pages into the file
    writer.execute("BEGIN")
    writer.execute("UPDATE message SET text = replace(text, 'original', 'CHANGED!')")
    evidence_dir = tmp_path / "evidence"
    evidence_dir.mkdir()
    for suffix in ("", "-journal"):
        shutil.copyfile(str(db) + suffix, str(evidence_dir / "sms.db") + suffix)
    writer.execute("ROLLBACK")
    writer.close()
    evidence = evidence_dir / "sms.db"
    assert b"CHANGED!" in evidence.read_bytes(), "the fixture must hold spilled, uncommitted pages"
    assert (evidence_dir / "sms.db-journal").stat().st_size > 0

    run = run_untouched(IosSmsPlugin(), evidence)
    assert run.warnings == []
    assert len(run.findings) == 400
    assert all(m.body.startswith("original ") for m in run.findings)


# -- hostile: bounded memory and steps -----------------------------------------------------------

def _hostile_sms(path: Path, view_sql: str) -> Path:
    return build_db(path, f"""
        CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT);
        INSERT INTO handle VALUES (1, '+96555550104');
        CREATE VIEW message AS {view_sql};""")


HUGE_VIEW = ("SELECT 1 AS ROWID, hex(zeroblob(150000000)) AS text, 1 AS handle_id, 0 AS date, "
             "0 AS is_from_me")
ENDLESS_VIEW = ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) "
                "SELECT x AS ROWID, 'never' AS text, 1 AS handle_id, 0 AS date, 0 AS is_from_me "
                "FROM r WHERE x < 0")


def test_huge_value_is_refused_with_a_warning_naming_file_and_table(tmp_path):
    db = _hostile_sms(tmp_path / "sms.db", HUGE_VIEW)
    assert db.stat().st_size <= 8192
    run = run_untouched(IosSmsPlugin(), db)
    assert run.findings == []
    assert len(run.warnings) == 1
    assert "sms.db" in run.warnings[0] and "table message" in run.warnings[0]
    assert "longer than" in run.warnings[0]


def test_endless_view_is_stopped_by_the_step_budget(tmp_path):
    db = _hostile_sms(tmp_path / "sms.db", ENDLESS_VIEW)
    run = run_untouched(IosSmsPlugin(), db)
    assert run.findings == []
    assert len(run.warnings) == 1
    assert "sms.db" in run.warnings[0] and "table message" in run.warnings[0]
    assert "SQLite steps" in run.warnings[0]


def test_plugin_time_out_inside_sqlite_is_reported_as_a_time_out(tmp_path):
    """The engine's SIGALRM cannot land inside SQLite's C loop; it is raised
    once the step budget stops the query, as the time-out it is (a Python
    progress callback would have swallowed it into "interrupted")."""
    db = _hostile_sms(tmp_path / "sms.db", ENDLESS_VIEW)
    run = run_plugin(IosSmsPlugin(), file_view_for_path(db), timeout=0.5)
    assert len(run.warnings) == 1 and "timed out" in run.warnings[0], run.warnings


def test_step_budget_is_a_count_not_a_clock(tmp_path):
    """The same query stops at the same row every time (reproducible): rows
    that each cost far more steps than the credit a row earns."""
    db = build_db(tmp_path / "t.db", "CREATE TABLE t (x INTEGER);",
                  {"t": [(n,) for n in range(20000)]})
    bounds = SqliteBounds(max_steps_per_query=20_000, step_credit_per_row=100, steps_per_check=100)
    stops = set()
    for _ in range(3):
        warnings: list[str] = []
        with connect(db, "t.db", warnings.append, bounds) as database:
            stops.add(len(list(database.rows("SELECT x FROM t WHERE x % 500 = 0", table="t"))))
        assert len(warnings) == 1 and "SQLite steps" in warnings[0]
    assert len(stops) == 1 and 0 < stops.pop() < 40


def test_row_budget_stops_a_view_that_never_ends(tmp_path):
    db = build_db(tmp_path / "t.db", "CREATE VIEW forever AS WITH RECURSIVE r(x) AS "
                                     "(SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r;")
    warnings: list[str] = []
    with connect(db, "t.db", warnings.append, SqliteBounds(max_rows_per_query=1000)) as database:
        assert len(list(database.rows("SELECT x FROM forever", table="forever"))) == 1000
    assert warnings == ["t.db: table forever: more than 1000 rows; rest not read"]


def test_hostile_databases_in_a_scan_bounded_rss_warning_named(tmp_path):
    """The whole route: a folder with both hostile databases at on-device
    paths and a generated column of 300 MB that the identifiers plugin would
    read. Peak RSS stays bounded; each file is named in a warning."""
    folder = tmp_path / "phone"
    (folder / "Library" / "SMS").mkdir(parents=True)
    (folder / "Library" / "Messages").mkdir(parents=True)
    _hostile_sms(folder / "Library" / "SMS" / "sms.db", HUGE_VIEW)
    _hostile_sms(folder / "Library" / "Messages" / "chat.db", ENDLESS_VIEW)
    build_db(folder / "notes.db", "CREATE TABLE note (body TEXT, big TEXT GENERATED ALWAYS AS "
                                  "(hex(zeroblob(150000000))) VIRTUAL); INSERT INTO note (body) VALUES ('x');")
    (folder / "control.txt").write_text("call +96555550105\n")
    code = (
        "import resource, sys; sys.path.insert(0, sys.argv[1]);"
        "from evidence_builders import scan; from pathlib import Path;"
        "r = scan([Path(sys.argv[3])], Path(sys.argv[2]), '--workers', '1');"
        "own = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'));"
        "peak = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "print(r.exit_code, peak * 1024)"
    )
    done = subprocess.run([str(PYTHON), "-c", code, str(REPO / "tests"), str(tmp_path / "case"), str(folder)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    exit_code, peak = map(int, done.stdout.split()[-2:])
    report = load_report(tmp_path / "case")
    messages = [f"{w.get('locator')} {w['message']}" for w in report["warnings"]]
    assert exit_code == 1
    assert any("sms.db" in m and "longer than" in m for m in messages), messages
    assert any("chat.db" in m and "SQLite steps" in m for m in messages), messages
    assert any("notes.db" in m and "longer than" in m for m in messages), messages
    assert not any("Error" in m or "Traceback" in m for m in messages), messages
    print(f"hostile SQLite scan: peak RSS {peak >> 20} MiB")
    assert peak < RSS_LIMIT, f"peak RSS {peak >> 20} MiB"
