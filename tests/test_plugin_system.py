"""The plugin system: discovery (built-in, --plugin-dir, entry points),
metadata, isolation of failures and time-outs, --only/--skip; and the CLI's
documentation kept in sync with the CLI."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_builders import load_report, scan
from traffick_triage import registry
from traffick_triage.cli import app
from traffick_triage.clidoc import _walk, render
from traffick_triage.plugin_api import Selector

REPO = Path(__file__).resolve().parents[1]


def test_every_builtin_plugin_declares_itself_and_has_a_test():
    loaded = registry.builtin_plugins()
    assert len(loaded) >= 10
    names = [p.name for p in loaded]
    assert len(names) == len(set(names))
    tests_text = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").glob("test_*.py"))
    for item in loaded:
        plugin = item.plugin
        assert re.fullmatch(r"[a-z][a-z0-9_]*", plugin.NAME), plugin.NAME
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?", plugin.VERSION), (plugin.NAME, plugin.VERSION)
        assert len(plugin.DESCRIPTION) > 10
        assert isinstance(plugin.SELECTOR, Selector) and (plugin.SELECTOR.mime_types or plugin.SELECTOR.globs)
        module = type(plugin).__module__.rsplit(".", 1)[-1]
        assert module in tests_text, f"no test mentions the plugin module {module}"


def test_selector_matches_mime_and_path_globs():
    selector = Selector(mime_types=("image/*",), globs=("**/databases/contacts2.db", "*.vcf"))
    assert selector.matches("/DCIM/a.bin", "image/jpeg", 10)
    assert selector.matches("data/com.android/databases/contacts2.db", "application/octet-stream", 10)
    assert selector.matches("/sdcard/People.VCF", "text/plain", 10)
    assert not selector.matches("/sdcard/contacts2.db.bak", "application/octet-stream", 10)
    # "**/" is zero or more folders: a path that starts with the pattern's first folder
    # (an iTunes backup's Domain/relativePath) matches too.
    assert selector.matches("databases/contacts2.db", "application/octet-stream", 10)
    assert not selector.matches("other/contacts2.db", "application/octet-stream", 10)
    assert not Selector(mime_types=("image/*",), max_size=5).matches("/a.jpg", "image/jpeg", 6)


BROKEN_PLUGINS = '''
import time
from dataclasses import dataclass
from typing import ClassVar
from traffick_triage.plugin_api import Finding, Plugin, Selector

@dataclass(frozen=True)
class Seen(Finding):
    KIND: ClassVar[str] = "test.seen"
    name: str

class Crashes(Plugin):
    NAME = "crashes"
    VERSION = "0.1"
    DESCRIPTION = "raises on every file after one finding"
    SELECTOR = Selector(mime_types=("text/*",))
    def extract(self, file, ctx):
        yield Seen(name=file.name)
        raise RuntimeError("deliberate failure")

class Sleeps(Plugin):
    NAME = "sleeps"
    VERSION = "0.2"
    DESCRIPTION = "takes far too long on one file"
    SELECTOR = Selector(globs=("slow.txt",))
    def extract(self, file, ctx):
        time.sleep(30)
        yield Seen(name=file.name)
'''


def test_plugin_failures_and_timeouts_are_counted_warnings(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "broken.py").write_text(BROKEN_PLUGINS)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "a.txt").write_text("alpha")
    (evidence / "slow.txt").write_text("beta")
    scan([evidence], tmp_path / "case", "--plugin-dir", str(plugins), "--only", "crashes", "--only", "sleeps",
         "--plugin-timeout", "1", expect_exit=1)
    report = load_report(tmp_path / "case")
    messages = sorted(w["message"] for w in report["warnings"])
    assert messages == [
        "plugin crashes 0.1 on evidence > /a.txt: RuntimeError: deliberate failure",
        "plugin crashes 0.1 on evidence > /slow.txt: RuntimeError: deliberate failure",
        "plugin sleeps 0.2 on evidence > /slow.txt: timed out after 1 s; findings so far kept",
    ]
    # Findings yielded before the failure are kept, with plugin name and version.
    seen = sorted((f["plugin"], f["plugin_version"], f["data"]["name"]) for f in report["findings"])
    assert seen == [("crashes", "0.1", "a.txt"), ("crashes", "0.1", "slow.txt")]
    assert {p["name"] for p in report["plugins"]} == {"crashes", "sleeps"}
    assert len(report["files"]) == 2


def test_only_and_skip_refuse_unknown_names(tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    result = scan([evidence], tmp_path / "case", "--only", "no_such_plugin", expect_exit=2)
    assert "no plugin named 'no_such_plugin'" in result.output
    scan([evidence], tmp_path / "case2", "--skip", "exif", expect_exit=0)
    assert "exif" not in {p["name"] for p in load_report(tmp_path / "case2")["plugins"]}


THIRD_PARTY = '''
from dataclasses import dataclass
from typing import ClassVar
from traffick_triage.plugin_api import Finding, Plugin, Selector

@dataclass(frozen=True)
class Marker(Finding):
    KIND: ClassVar[str] = "thirdparty.marker"
    text: str

class MarkerPlugin(Plugin):
    NAME = "thirdparty_marker"
    VERSION = "2.3.4"
    DESCRIPTION = "finds the word MARKER in text files"
    SELECTOR = Selector(mime_types=("text/plain",))
    def extract(self, file, ctx):
        if b"MARKER" in file.read():
            yield Marker(text="MARKER")
'''


def test_entry_point_plugin_from_an_installed_package(tmp_path, monkeypatch):
    """A throwaway distribution laid out as pip installs one (module +
    dist-info with entry_points.txt) on sys.path is discovered and run."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "thirdparty_marker.py").write_text(textwrap.dedent(THIRD_PARTY))
    dist = site / "thirdparty_marker-2.3.4.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-marker\nVersion: 2.3.4\n")
    (dist / "entry_points.txt").write_text("[traffick_triage.plugins]\nmarker = thirdparty_marker:MarkerPlugin\n")
    monkeypatch.syspath_prepend(str(site))
    loaded = {p.name: p for p in registry.load_plugins()}
    assert loaded["thirdparty_marker"].origin == "entry-point:thirdparty-marker"
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "note.txt").write_text("a MARKER here")
    scan([evidence], tmp_path / "case", "--only", "thirdparty_marker")
    report = load_report(tmp_path / "case")
    assert [(f["plugin"], f["plugin_version"], f["kind"]) for f in report["findings"]] == [
        ("thirdparty_marker", "2.3.4", "thirdparty.marker")]
    sys.modules.pop("thirdparty_marker", None)


def test_template_plugin_loads_from_plugin_dir(tmp_path):
    loaded = registry.directory_plugins(REPO / "examples")
    assert [p.name for p in loaded] == ["bitcoin_wallet_dat"]
    evidence = tmp_path / "evidence" / "wallets" / "main"
    evidence.mkdir(parents=True)
    (evidence / "wallet.dat").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    scan([tmp_path / "evidence"], tmp_path / "case", "--plugin-dir", str(REPO / "examples"),
         "--only", "bitcoin_wallet_dat", expect_exit=0)
    findings = load_report(tmp_path / "case")["findings"]
    assert [(f["kind"], f["data"]["storage"]) for f in findings] == [("example.wallet_file", "sqlite")]


def test_every_command_has_help_and_is_documented():
    import typer

    root = typer.main.get_command(app)
    documented = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    runner = CliRunner()
    commands = list(_walk(root, ["triage"]))
    assert len(commands) >= 10
    for path, command in commands:
        assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
        assert f"## `{' '.join(path)}`" in documented
        result = runner.invoke(app, path[1:] + ["--help"])
        assert result.exit_code == 0 and "Usage" in result.output
    assert documented == render(), "docs/cli.md is stale: python -m traffick_triage.clidoc > docs/cli.md"


@pytest.mark.parametrize("args", [["scan"], ["verify"], ["nosuchcommand"]])
def test_usage_errors_exit_2(args):
    assert CliRunner().invoke(app, args).exit_code == 2
