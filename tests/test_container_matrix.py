"""Issue 15's container matrix: the same phone, built into every container
the tool reads (tests/container_matrix.py), gives the same findings in each.

One scan of all containers together (each an evidence item of its own); per
plugin, the findings (kind, count and every field value) of each container
equal the plain folder's, and the warnings too once the locator (the only
thing a container changes) is taken out. The -wal/-shm/-journal beside each
database are found on every route, byte for byte as stored. The evidence is
hashed before and after the scan.

Oracles: the folder route (plain files, the tool's simplest source) for the
other containers; sqlite3 for the WAL-only call history (rows that exist
only in the -wal); the plugin registry for the meta-test. What the other
routes cannot hold: NTFS is flat (ntfsprogs cannot make folders without
mounting), so the NTFS image holds the same files under their base names,
which every plugin's selector also takes.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from container_matrix import (FIXTURES, FOLDER_FIELDS, JOURNAL_DB, SQLITE_COMPANIONS, backup_name, build_containers, companions_in,
                              phone_tree)
from evidence_builders import evidence_files, load_report, tree_hashes
from traffick_triage.cli import app

REQUIRED_TOOLS = ("mke2fs", "mkfs.vfat", "mcopy", "sfdisk", "ewfacquire", "qemu-img", "mkntfs", "ntfscp")
pytestmark = [pytest.mark.skipif(any(shutil.which(t) is None for t in REQUIRED_TOOLS),
                                 reason="the matrix needs " + ", ".join(REQUIRED_TOOLS)),
              pytest.mark.skipif(importlib.util.find_spec("dfvfs") is None,
                                 reason="VMDK/QCOW2/VHD need the 'containers' extra (dfVFS)")]

# Container -> the evidence kind the tool must detect it as.
KINDS = {"folder": "directory", "zip": "zip", "tar": "tar", "tar.gz": "tar", "itunes-backup": "itunes-backup",
         "ext4-raw": "raw", "ext4-split-raw": "split-raw", "ext4-e01": "ewf", "ext4-in-mbr": "raw",
         "ext4-in-gpt": "raw", "fat32-sdcard": "raw", "ntfs-flat": "raw", "ext4-qcow2": "qcow",
         "ext4-in-gpt-vmdk": "vmdk", "fat32-in-mbr-vhd": "vhd", "ntfs-flat-qcow2": "qcow"}
OTHERS = [name for name in KINDS if name != "folder"]


@dataclass
class Matrix:
    files: dict[str, bytes]
    containers: dict[str, Path]
    report: dict
    exit_code: int
    output: str
    hashes_before: dict[str, str]
    hashes_after: dict[str, str]

    def item(self, container: str) -> dict:
        name = self.containers[container].name
        return next(e for e in self.report["evidence"] if e["name"] == name)

    def findings(self, container: str, flattened: bool = False) -> dict[str, Counter]:
        """Plugin -> Counter of (kind, every field value) in one container;
        ``flattened``: without the fields a plugin reads from the on-device
        folder (FOLDER_FIELDS), which a flat container cannot keep."""
        evidence_id = self.item(container)["id"]
        out: dict[str, Counter] = {}
        names = Counter(path.rsplit("/", 1)[-1] for path in self.files)
        for finding in self.report["findings"]:
            # A base name two databases share (Cache.db) is not in the flat root.
            if flattened and names[finding["locator"].rsplit("/", 1)[-1]] > 1:
                continue
            # An iTunes backup's own index names every file's path, and Gmail's folder is an e-mail
            # address: what the identifier scan finds there has no counterpart in the other containers.
            if finding["locator"].endswith("Manifest.db"):
                continue
            if finding["evidence_id"] == evidence_id:
                dropped = FOLDER_FIELDS.get(finding["plugin"], ()) if flattened else ()
                data = {key: value for key, value in finding["data"].items() if key not in dropped}
                out.setdefault(finding["plugin"], Counter())[(finding["kind"], json.dumps(data, sort_keys=True))] += 1
        return out

    def warnings(self, container: str) -> Counter:
        """(source, message) of one container's warnings, its locator (named
        in the message too) replaced by a placeholder."""
        evidence_id = self.item(container)["id"]
        return Counter((w["source"], w["message"].replace(w["locator"], "<locator>"))
                       for w in self.report["warnings"] if w["evidence_id"] == evidence_id)


@pytest.fixture(scope="session")
def matrix(corpus, tmp_path_factory) -> Matrix:
    folder = tmp_path_factory.mktemp("matrix")
    files = phone_tree(corpus, folder / "scratch")
    containers = build_containers(files, folder / "evidence")
    paths = [str(p) for p in containers.values()]
    before = tree_hashes(evidence_files(containers.values()))
    result = CliRunner().invoke(app, ["scan", *paths, "-o", str(folder / "case"), "--quiet"])
    after = tree_hashes(evidence_files(containers.values()))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Matrix(files, containers, load_report(folder / "case"), result.exit_code, result.output, before, after)


def test_the_scan_left_every_container_untouched(matrix):
    assert matrix.hashes_before and matrix.hashes_before == matrix.hashes_after
    assert matrix.exit_code in (0, 1), matrix.output      # 1: finished with (counted) warnings


def test_every_container_is_read_as_its_kind(matrix):
    assert set(matrix.containers) == set(KINDS)
    assert {name: matrix.item(name)["kind"] for name in matrix.containers} == KINDS
    for name in matrix.containers:
        assert matrix.item(name)["complete"] is True, name


@pytest.mark.parametrize("plugin", sorted({f.plugin for f in FIXTURES}))
def test_the_folder_route_gives_findings_for_every_plugin(matrix, plugin):
    assert sum(matrix.findings("folder").get(plugin, Counter()).values()) >= 1, \
        [w for w in matrix.warnings("folder") if w[0] == f"plugin:{plugin}"]


# Plugins whose globs name the app's on-device folder (a base name such as
# Cache.db, tc.db or CallHistory.sqlite alone says nothing; BeReal's caches are
# hashed names, Gmail's folder is the account): the flat NTFS rightly
# does not prove them; every other plugin must give its findings there too.
NAMED_BY_FOLDER = {"burner_android", "burner_ios", "discord_ios", "ios_bereal", "ios_gmail_search", "tango_android",
                   "teams_ios", "viber_android", "whatsapp_ios_callhistory"}


def _selected_when_flattened(plugin: str) -> bool:
    """Whether ``plugin`` still selects its fixture once the flat NTFS has put
    it in the root (ntfsprogs cannot make folders): a plugin whose globs name
    the on-device folder (WhatsApp iOS's CallHistory.sqlite, a name that alone
    says nothing) rightly does not."""
    from traffick_triage.registry import load_plugins

    selector = next(p.plugin.SELECTOR for p in load_plugins() if p.name == plugin)
    device_path = next(f.device_path for f in FIXTURES if f.plugin == plugin)
    return selector.matches("/" + device_path.rsplit("/", 1)[-1], "application/vnd.sqlite3", 1)


@pytest.mark.parametrize("container", OTHERS)
def test_findings_are_the_folders_in_every_container(matrix, container):
    flat = container.startswith("ntfs-flat")
    expected, found = matrix.findings("folder", flat), matrix.findings(container, flat)
    if flat:
        expected = {plugin: counts for plugin, counts in expected.items() if _selected_when_flattened(plugin)}
        unproven = {f.plugin for f in FIXTURES} - set(expected)
        assert unproven == NAMED_BY_FOLDER, "the flat NTFS must still prove every plugin that selects by name"
    assert set(found) == set(expected)
    for plugin in expected:
        missing, extra = expected[plugin] - found[plugin], found[plugin] - expected[plugin]
        assert not missing and not extra, (plugin, sum(missing.values()), sum(extra.values()),
                                           list(missing)[:2], list(extra)[:2])


@pytest.mark.parametrize("container", OTHERS)
def test_warnings_are_the_folders_but_for_the_locator(matrix, container):
    assert matrix.warnings(container) == matrix.warnings("folder")


def test_call_history_rows_live_only_in_the_wal_and_every_route_reads_them(matrix, tmp_path):
    """The oracle: sqlite3 on the database alone sees no call, with its -wal
    all of them. Every container's count is the latter."""
    device_path = next(f.device_path for f in FIXTURES if f.plugin == "ios_callhistory")
    alone, together = tmp_path / "alone", tmp_path / "together"
    for folder, suffixes in ((alone, ("",)), (together, ("", "-wal", "-shm"))):
        folder.mkdir()
        for suffix in suffixes:
            (folder / f"CallHistory.storedata{suffix}").write_bytes(matrix.files[device_path + suffix])

    def calls(folder: Path) -> int:
        connection = sqlite3.connect(folder / "CallHistory.storedata")
        try:
            return connection.execute("SELECT COUNT(*) FROM ZCALLRECORD").fetchone()[0]
        except sqlite3.OperationalError:       # no table: it was created in the -wal too
            return 0
        finally:
            connection.close()

    assert calls(alone) == 0 and calls(together) == 3
    for container in matrix.containers:
        counted = matrix.findings(container).get("ios_callhistory", Counter())
        assert sum(counted.values()) == 3, container


# -- the companions, source by source ---------------------------------------------------------------


def _device_path(container: str, entry_path: str, files: dict[str, bytes]) -> str | None:
    if container == "itunes-backup":
        return {"/".join(backup_name(p)): p for p in files}.get(entry_path)
    if container.startswith("ntfs-flat"):
        return {p.rsplit("/", 1)[-1]: p for p in files}.get(entry_path.lstrip("/"))
    return entry_path.lstrip("/")


@pytest.mark.parametrize("container", list(KINDS))
def test_every_companion_is_found_beside_its_database(matrix, container):
    """-wal, -shm and -journal, present or absent, on every route: found with
    the bytes stored, or None where the tree has none."""
    from traffick_triage.sources.detect import open_source

    databases = companions_in(matrix.files)
    assert any("-journal" in s for s in databases.values()) and JOURNAL_DB in databases
    if container.startswith("ntfs-flat"):     # only base names that stay unique lie in the flat root
        names = Counter(path.rsplit("/", 1)[-1] for path in matrix.files)
        databases = {path: found for path, found in databases.items() if names[path.rsplit("/", 1)[-1]] == 1}
    source = open_source(str(matrix.containers[container]))
    checked = set()
    try:
        for entry in source.entries():
            device_path = _device_path(container, entry.path, matrix.files)
            if device_path not in databases or entry.kind != "file":
                continue
            for suffix in SQLITE_COMPANIONS:
                sibling = source.find_sibling(entry, entry.name + suffix)
                if suffix not in databases[device_path]:
                    assert sibling is None, (device_path, suffix)
                    continue
                assert sibling is not None, (device_path, suffix)
                assert _device_path(container, sibling.path, matrix.files) == device_path + suffix
                with sibling.opener() as stream:
                    assert stream.read() == matrix.files[device_path + suffix], (device_path, suffix)
            checked.add(device_path)
    finally:
        source.close()
    assert checked == set(databases)


# -- the meta-test ----------------------------------------------------------------------------------


def _needs_a_fixture(loaded) -> bool:
    """A plugin that reads SQLite, or picks files by path (the phone plugins)."""
    from traffick_triage.identifiers.extract import SQLITE_MIMES

    selector = loaded.plugin.SELECTOR
    return bool(selector.globs) or any(m in selector.mime_types for m in SQLITE_MIMES)


def test_every_phone_and_sqlite_plugin_has_a_matrix_fixture(corpus):
    from traffick_triage.filetype import sniff_mime
    from traffick_triage.registry import load_plugins

    loaded = {p.name: p for p in load_plugins()}
    needing = {name for name, plugin in loaded.items() if _needs_a_fixture(plugin)}
    declared = {f.plugin for f in FIXTURES}
    assert needing - declared == set(), "plugins without a container-matrix fixture"
    assert declared - set(loaded) == set(), "fixtures of plugins that do not exist"
    for fixture in FIXTURES:
        if fixture.corpus_path is None:
            assert fixture.reason, f"{fixture.plugin}: a built fixture must say why the corpus has none"
            continue
        source = corpus / fixture.corpus_path
        assert source.is_file(), fixture.corpus_path
        with open(source, "rb") as stream:
            mime = sniff_mime(stream.read(65536))
        assert loaded[fixture.plugin].plugin.SELECTOR.matches("/" + fixture.device_path, mime,
                                                              source.stat().st_size), fixture


def test_each_built_fixture_is_selected_by_its_plugin(matrix):
    from traffick_triage.filetype import sniff_mime
    from traffick_triage.registry import load_plugins

    loaded = {p.name: p for p in load_plugins()}
    for fixture in FIXTURES:
        data = matrix.files[fixture.device_path]
        assert loaded[fixture.plugin].plugin.SELECTOR.matches("/" + fixture.device_path, sniff_mime(data[:65536]),
                                                              len(data)), fixture
