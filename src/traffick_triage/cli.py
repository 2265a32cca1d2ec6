"""The ``triage`` command: a thin layer that turns options into library calls
and results into tables. Exit codes: 0 clean, 1 finished with warnings (or a
verification mismatch), 2 usage or fatal error."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import __version__

EXIT_CLEAN, EXIT_WARNINGS, EXIT_FATAL = 0, 1, 2

app = typer.Typer(help="Forensic triage of seized evidence: inventory, hashes, metadata, "
                       "known-file matching and court-ready reports.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True, highlight=False, soft_wrap=True)   # one line per message, never re-wrapped
out = Console(highlight=False, soft_wrap=True)


def fail(message: str) -> None:
    """One clear line and exit 2: user errors never show a traceback."""
    console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(EXIT_FATAL)


def _fail_if_environment(error: BaseException, case_dir: Any = None) -> None:
    """A full disk or a case folder another process holds: one line, exit 2."""
    from .environment_errors import describe

    message = describe(error, case_dir)
    if message is not None:
        fail(message)


def _version(value: bool) -> None:
    if value:
        out.print(f"traffick-triage {__version__}")
        raise typer.Exit(EXIT_CLEAN)


@app.callback()
def main_callback(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                               help="Print the version and exit.")) -> None:
    """Forensic triage of seized evidence."""


@app.command()
def scan(
    evidence: List[Path] = typer.Argument(..., help="Evidence items: folders, ZIP/TAR exports, raw/split/E01 images."),
    output: Path = typer.Option(..., "-o", "--output", help="Case folder to write (created; must be outside the evidence)."),
    evidence_id: Optional[List[str]] = typer.Option(None, "--evidence-id", help="ID per evidence item, in order (default E1, E2...)."),
    case_number: str = typer.Option("", "--case-number", help="Case number recorded in the report."),
    examiner: str = typer.Option("", "--examiner", help="Examiner's name recorded in the report."),
    agency: str = typer.Option("", "--agency", help="Agency recorded in the report."),
    region: Optional[str] = typer.Option(None, "--region", help="Default phone-number region (ISO 3166 code, e.g. KW)."),
    keywords: Optional[List[Path]] = typer.Option(None, "--keywords", help="Keyword list instead of the starter list (repeatable): YAML, or plain UTF-8 text with one term per line ('#' comments); see docs/keywords.md."),
    keywords_language: Optional[str] = typer.Option(None, "--keywords-language", help="Language tag of every term of plain keyword lists (e.g. ar: Arabic affix rules); default: detected per term (Arabic letters: ar)."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="Run only this plugin (repeatable)."),
    skip: Optional[List[str]] = typer.Option(None, "--skip", help="Do not run this plugin (repeatable)."),
    no_plugins: bool = typer.Option(False, "--no-plugins", help="Inventory and hashes only: run no plugin."),
    plugin_dir: Optional[List[Path]] = typer.Option(None, "--plugin-dir", help="Also load one-file plugins from this folder."),
    plugin_timeout: float = typer.Option(60.0, "--plugin-timeout", help="Seconds one plugin may spend on one file."),
    hashset: Optional[List[str]] = typer.Option(None, "--hashset", help="Known-file hash set or compiled store to match against (repeatable; any supported format). Prefix TYPE: to declare its type instead of detecting it: pdq:, phash:, md5:, sha1:, sha256:, hashdeep:, md5deep:, vics:, icse:, nsrl:, store: (a list of bare 64-hex values is otherwise guessed SHA-256, and a warning says so)."),
    no_shadow_copies: bool = typer.Option(False, "--no-shadow-copies", help="Do not read the Volume Shadow Copies of NTFS volumes (by default, files of older snapshots that differ from the live volume are listed)."),
    max_member_bytes: int = typer.Option(64 << 30, "--max-member-bytes", help="Largest archive member read (bomb guard)."),
    max_ratio: float = typer.Option(1000.0, "--max-ratio", min=1.0, help="Largest compression ratio of an archive member over 100 MiB; an archive may expand to this many times its size (at least 1 GiB) in all (bomb guard)."),
    no_expand: bool = typer.Option(False, "--no-expand", help="Do not open files found inside the evidence (archives, documents, compressed files) to inventory what they hold."),
    pdq_threshold: int = typer.Option(31, "--pdq-threshold", min=0, max=31, help="PDQ match distance (of 256 bits)."),
    phash_threshold: int = typer.Option(8, "--phash-threshold", min=0, max=32, help="pHash match distance (of 64 bits), a secondary signal."),
    dihedral: bool = typer.Option(False, "--dihedral", help="Also match the 8 rotations/flips of each image's PDQ."),
    workers: int = typer.Option(0, "--workers", help="Processes hashing and running plugins (0: all cores)."),
    no_media_hash: bool = typer.Option(
        False, "--no-media-hash",
        help="Do not read an image (E01, VMDK...) to its end for its own hash: an E01 is then 'not checked' "
             "against its stored acquisition hashes instead of verified. For an image verified when it was "
             "acquired; its segment files are still hashed, a raw image's hash is still taken."),
    no_carve: bool = typer.Option(
        False, "--no-carve",
        help="Do not carve disk images' unallocated space with PhotoRec (on by default for raw, split raw, E01, "
             "VMDK and other disk images; never for folders, ZIP or TAR)."),
    carve_timeout: float = typer.Option(
        0.0, "--carve-timeout", min=0.0,
        help="Seconds PhotoRec may spend on one volume (0: 120 s plus 1 s per 8 MiB of the volume); "
             "a volume over the limit is not carved and a warning says so."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler (tcp://HOST:PORT): process on that cluster; evidence must be at the same paths on every worker."),
    sign: Optional[Path] = typer.Option(None, "--sign", help="Ed25519 private key (PEM, from `triage keygen`): write a detached signature of the manifest."),
    export_matches: bool = typer.Option(False, "--export-matches", help="Copy files that match known-bad sets into CASE_DIR/EXPORTED-MATCHES-handle-with-care (never done without this option)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    json_summary: bool = typer.Option(False, "--json", help="Print a JSON summary on standard output."),
) -> None:
    """Scan evidence into CASE_DIR: inventory with hashes and types, plugin findings, report.json,
    evidence.hashdeep, timeline, manifest. Run again with the same command to resume."""
    from .engine import ScanConfig, ScanRefused, iter_evidence_specs
    from .perceptual_matching import PerceptualSettings
    from .registry import PluginLoadError, load_plugins

    for path in evidence:
        if not path.exists():
            fail(f"evidence not found: {path}")
    try:
        specs = list(iter_evidence_specs([str(p) for p in evidence], evidence_id))
        plugins = [] if no_plugins else load_plugins([str(d) for d in plugin_dir or []], only, skip)
    except (ScanRefused, PluginLoadError) as error:
        fail(str(error))
    plugin_options: dict[str, Any] = {}
    if region:
        plugin_options["region"] = region.upper()
    if dihedral:
        plugin_options["dihedral"] = True
    for path in keywords or []:
        if not path.is_file():
            fail(f"keyword list not found: {path}")
    if keywords:
        plugin_options["keywords"] = [str(p.resolve()) for p in keywords]
    if keywords_language is not None:
        if not keywords:
            fail("--keywords-language applies to plain keyword lists given with --keywords; none was given")
        plugin_options["keywords_language"] = keywords_language
    source_options: dict[str, Any] = {"max_member_bytes": max_member_bytes, "max_ratio": max_ratio,
                                      "expand": not no_expand, "shadow_copies": not no_shadow_copies}
    # Recorded only when asked, so the options of a default scan read as before carving existed.
    if no_carve:
        source_options["carve"] = False
    if carve_timeout:
        source_options["carve_timeout"] = carve_timeout
    config = ScanConfig(evidence=specs, case_dir=str(output),
                        case={"case_number": case_number, "examiner": examiner, "agency": agency},
                        plugin_options=plugin_options, source_options=source_options,
                        plugin_timeout=plugin_timeout, hashset_paths=list(hashset or []),
                        workers=workers if workers > 0 else (os.cpu_count() or 1),
                        perceptual=PerceptualSettings(pdq_threshold, phash_threshold, pdq_threshold),
                        scheduler=scheduler, media_hash=not no_media_hash,
                        plugin_selection={"dirs": [str(d) for d in plugin_dir or []], "only": list(only or []),
                                          "skip": list(skip or []), "none": no_plugins})
    if sign and not sign.is_file():
        fail(f"signing key not found: {sign}")
    _run_and_exit(config, plugins, quiet or json_summary, json_summary, str(sign) if sign else None, export_matches)


def _run_and_exit(config: Any, plugins: Any, quiet: bool, json_summary: bool, sign_key: str | None = None,
                  export_matched: bool = False) -> None:
    from .engine import ScanRefused
    from .executors import ClusterError
    from .matching import HashSetLoadError
    from .scan import run_scan

    show_progress = not quiet and sys.stderr.isatty()
    try:
        if show_progress:
            result = _scan_with_progress(config, plugins, sign_key, export_matched)
        else:
            result = run_scan(config, plugins, argv=sys.argv, sign_key=sign_key, export_matched=export_matched,
                              on_hashsets=_print_hashsets)
    except (ScanRefused, HashSetLoadError, ClusterError) as error:
        fail(str(error))
    except KeyboardInterrupt:
        # Typer would turn it into exit 130 without a word; the workers ignore
        # it (executors), so this is the only line the examiner sees.
        console.print(f"interrupted: run the same command again to resume the scan in {config.case_dir}",
                      markup=False)
        raise typer.Exit(130) from None
    except Exception as error:  # noqa: BLE001 - a full disk, a busy case folder: one line; the rest re-raised
        _fail_if_environment(error, config.case_dir)
        if isinstance(error, OSError):
            fail(f"cannot write the case folder: {error}")
        raise
    _print_scan_result(result, json_summary)
    raise typer.Exit(result.exit_code)


@app.command()
def batch(
    case_file: Path = typer.Argument(..., help="A YAML case file listing the evidence items (see docs/batch.md)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Case folder (overrides 'output' in the file)."),
    no_carve: bool = typer.Option(
        False, "--no-carve",
        help="Do not carve disk images' unallocated space with PhotoRec (on by default for raw, split raw, E01, "
             "VMDK and other disk images; never for folders, ZIP or TAR)."),
    carve_timeout: float = typer.Option(
        0.0, "--carve-timeout", min=0.0,
        help="Seconds PhotoRec may spend on one volume (0: 120 s plus 1 s per 8 MiB of the volume); "
             "a volume over the limit is not carved and a warning says so."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler (tcp://HOST:PORT); default: local worker processes."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    json_summary: bool = typer.Option(False, "--json", help="Print a JSON summary on standard output."),
) -> None:
    """Scan many evidence items, each with its own ID, path and options, into one case; locally or on a Dask cluster."""
    from .batch import CaseFileError, load_case_file
    from .engine import ScanRefused
    from .registry import PluginLoadError, load_plugins

    try:
        config = load_case_file(case_file, str(output) if output else None, scheduler)
        selection = config.plugin_selection
        plugins = [] if selection["none"] else load_plugins(selection["dirs"], selection["only"], selection["skip"])
    except (CaseFileError, ScanRefused, PluginLoadError) as error:
        fail(str(error))
    _run_and_exit(config, plugins, quiet or json_summary, json_summary)


def _scan_with_progress(config: Any, plugins: Any, sign_key: str | None, export_matched: bool) -> Any:
    from rich.progress import (BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn, TransferSpeedColumn)

    from .engine import ScanProgress
    from .scan import run_scan

    # auto_refresh=False: redrawn by a _Redrawer, which the scan's forks stop (see there).
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.fields[files]} files"), DownloadColumn(), TransferSpeedColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True,
                  auto_refresh=False) as bar, _Redrawer(bar):
        task = bar.add_task("scanning", total=None, files=0)
        counter = {"files": 0}

        def on_evidence(name: str, total: int | None) -> None:
            # One bar per evidence item; its total (and so the ETA) where the
            # source can tell cheaply (folders, ZIP), else a running count.
            bar.reset(task, total=total, description=f"scanning {name}", files=counter["files"])

        def on_file(size: int) -> None:
            counter["files"] += 1
            bar.update(task, advance=size, files=counter["files"])

        return run_scan(config, plugins, argv=sys.argv, progress=ScanProgress(on_evidence, on_file),
                        sign_key=sign_key, export_matched=export_matched, on_hashsets=_print_hashsets)


class _Redrawer:
    """Redraws a progress display ten times a second (as rich's auto-refresh
    does) from a thread that is stopped, and joined, before every fork of this
    process and started again after it in the parent. A scan forks its worker
    processes and its output-writer lanes while the display is shown; a thread
    running at a fork may hold a lock (the console's, a standard stream's) that
    the child then waits for forever, and Python 3.12+ warns of it. rich's own
    refresh thread cannot be stopped for a fork and started again."""

    _shown: list[_Redrawer] = []        # the displays the fork hooks stop
    _hooked = False

    def __init__(self, bar: Any, per_second: float = 10) -> None:
        self._bar, self._interval = bar, 1 / per_second
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Redrawer:
        if not _Redrawer._hooked and hasattr(os, "register_at_fork"):
            os.register_at_fork(before=_Redrawer._before_fork, after_in_parent=_Redrawer._after_fork_in_parent,
                                after_in_child=_Redrawer._shown.clear)
            _Redrawer._hooked = True
        self._start()
        _Redrawer._shown.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _Redrawer._shown.remove(self)
        self._end()

    def _start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="progress-display", daemon=True)
        self._thread.start()

    def _end(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._bar.refresh()

    @staticmethod
    def _before_fork() -> None:
        for redrawer in _Redrawer._shown:
            redrawer._end()

    @staticmethod
    def _after_fork_in_parent() -> None:
        for redrawer in _Redrawer._shown:
            redrawer._start()


def _print_hashsets(described: list[dict[str, Any]]) -> None:
    """Before the walk, on standard error: how every hash set was read, so a
    list read as the wrong type is seen before the scan, not after."""
    from .matching import how_read

    for row in described:
        console.print(how_read(row), markup=False)


def _print_scan_result(result: Any, json_summary: bool) -> None:
    summary = dict(result.summary)
    summary.update(case_dir=str(result.case_dir), report=str(result.report_path), exit_code=result.exit_code,
                   verification_mismatches=result.outcome.mismatches)
    if json_summary:
        out.print(json.dumps(summary, sort_keys=True), markup=False)
        return
    for name in result.outcome.mismatches:
        console.print(f"[bold red]MISMATCH:[/] {name}: image bytes differ from its stored acquisition hashes")
    console.print(f"{summary['files']} files ({summary['deleted_files']} deleted), "
                  f"{summary['findings']} findings, {summary['warnings']} warnings", markup=False)
    if summary["warnings"]:
        console.print("warnings are listed in report.json (\"warnings\")", markup=False)
    out.print(f"report: {result.report_path}", markup=False)
    page = result.case_dir / "report.html"
    if page.is_file():
        out.print(f"report page: {page} (open it in a browser; it works offline)", markup=False)


@app.command()
def info(evidence: Path = typer.Argument(..., help="One evidence item.")) -> None:
    """Show what the tool sees: format, stored acquisition hashes, partitions, file systems, file counts."""
    from .scan import pin_process_timezone
    from .sources.base import FILE, EvidenceError
    from .sources.detect import open_source

    pin_process_timezone()
    if not evidence.exists():
        fail(f"evidence not found: {evidence}")
    try:
        # The item's own files: what archives inside it hold is counted by a scan, and
        # carving (a PhotoRec run per volume) is the scan's alone.
        source = open_source(str(evidence), {"expand": False, "carve": False})
    except (EvidenceError, OSError) as error:
        fail(f"{evidence}: {error}")
    try:
        description = source.describe()
        counts = {"files": 0, "deleted_files": 0, "directories": 0, "other": 0}
        stopped = None
        try:
            for entry in source.entries():
                if entry.kind == FILE:
                    counts["files"] += 1
                    counts["deleted_files"] += 0 if entry.allocated else 1
                elif entry.kind == "dir":
                    counts["directories"] += 1
                else:
                    counts["other"] += 1
        except (OSError, ValueError, EOFError, RuntimeError) as error:
            # As the scan says it (engine._walk): the counts so far stand.
            stopped = f"{source.display_name}: walk stopped early after {counts['files'] + counts['directories'] + counts['other']} entries: {error}"
        warnings = [f"{w.locator}: {w.message}" for w in source.take_warnings()]
        if stopped:
            warnings.append(stopped)
    finally:
        source.close()
    description["counts"] = counts
    description["warnings"] = warnings
    out.print(json.dumps(description, indent=2, sort_keys=True, ensure_ascii=False), markup=False)
    raise typer.Exit(EXIT_WARNINGS if warnings else EXIT_CLEAN)


@app.command()
def verify(
    case_dir: Path = typer.Argument(..., help="A case folder written by `triage scan`."),
    evidence: bool = typer.Option(False, "--evidence", help="Also re-hash the evidence files."),
    pubkey: Optional[Path] = typer.Option(None, "--pubkey", help="Ed25519 public key (PEM): also check the manifest's signature."),
) -> None:
    """Re-check every output of a case against its manifest (and audit log, and signature); exit 1 naming what changed."""
    from .verify import verify_case

    if not case_dir.is_dir():
        fail(f"not a folder: {case_dir}")
    if pubkey and not pubkey.is_file():
        fail(f"public key not found: {pubkey}")
    result = verify_case(case_dir, evidence=evidence, public_key=pubkey)
    if (case_dir / "manifest.json").is_file():
        from .audit import append_audit

        # Every command run on a case is logged, a verification too (after it ran).
        append_audit(case_dir, "verify", sys.argv)
    for problem in result.problems:
        out.print(f"FAILED  {problem}", markup=False)
    if result.ok:
        out.print(f"verified: {result.checked} files match the manifest", markup=False)
        raise typer.Exit(EXIT_CLEAN)
    out.print(f"verification failed: {len(result.problems)} problem(s)", markup=False)
    raise typer.Exit(EXIT_WARNINGS)


@app.command()
def keygen(
    directory: Path = typer.Argument(..., help="Folder for the key pair (created)."),
    passphrase: bool = typer.Option(False, "--passphrase", help="Protect the private key with a passphrase (asked for)."),
) -> None:
    """Create an Ed25519 key pair for signing case manifests (`triage scan --sign`, `triage verify --pubkey`)."""
    from .signing import generate_keypair, public_key_fingerprint

    secret = typer.prompt("passphrase", hide_input=True, confirmation_prompt=True) if passphrase else None
    try:
        private, public = generate_keypair(directory, secret)
    except (OSError, ValueError) as error:
        fail(str(error))
    out.print(f"private key: {private}\npublic key: {public}\nfingerprint: {public_key_fingerprint(public)}",
              markup=False)


@app.command()
def report(
    case_dir: Path = typer.Argument(..., help="A case folder written by `triage scan`."),
    lang: str = typer.Option("en", "--lang", help="Language of the HTML page: en or ar (right-to-left)."),
    redact: bool = typer.Option(False, "--redact", help="Mask victims' names, numbers and addresses consistently (a copy for sharing)."),
    thumbnails: bool = typer.Option(False, "--thumbnails", help="Blurred thumbnails of unmatched images (never of matches)."),
    sign: Optional[Path] = typer.Option(None, "--sign", help="Ed25519 private key (PEM): sign the new manifest."),
) -> None:
    """Re-render every output from the case store without rescanning (byte-identical for the same store)."""
    from .report.html import available_languages
    from .scan import rerender_case

    if not (case_dir / "case.sqlite").is_file():
        fail(f"no case store in {case_dir}")
    if sign and not sign.is_file():
        fail(f"signing key not found: {sign}")
    try:
        if lang not in available_languages():
            fail(f"no report language {lang!r}; available: {', '.join(available_languages())}")
        written = rerender_case(case_dir, sys.argv, str(sign) if sign else None, lang, redact, thumbnails)
    except Exception as error:  # noqa: BLE001 - a full disk, a busy case folder: one line; the rest re-raised
        _fail_if_environment(error, case_dir)
        if isinstance(error, OSError):
            fail(f"cannot write the case folder: {error}")
        raise
    out.print(f"re-rendered {len(written)} outputs in {case_dir}", markup=False)


@app.command()
def plugins(plugin_dir: Optional[List[Path]] = typer.Option(None, "--plugin-dir", help="Also list plugins from this folder.")) -> None:
    """List the plugins (name, version, which files they take, description) and the readers of files inside files."""
    from .registry import PluginLoadError, load_plugins

    try:
        loaded = load_plugins([str(d) for d in plugin_dir or []])
    except PluginLoadError as error:
        fail(str(error))
    table = Table("name", "version", "selector", "description", "origin")
    for item in loaded:
        table.add_row(item.name, item.version, item.plugin.SELECTOR.describe(), item.plugin.DESCRIPTION,
                      item.origin.split(":", 1)[0])
    out.print(table)
    from .expansion.registry import describe_expanders

    # The readers that open files inside files (off with `triage scan --no-expand`).
    readers = Table("expander", "version", "route", "description", "library")
    for item in describe_expanders():
        readers.add_row(item["name"], item["version"], item["route"], item["description"], item["library"])
    out.print(readers)


@app.command("cat")
def cat_file(
    case_dir: Path = typer.Argument(..., help="A case folder."),
    locator: str = typer.Argument(..., help="A file's locator as printed in the report."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here instead of standard output."),
) -> None:
    """Resolve a locator back to its bytes (from the evidence, read-only), verified against the inventory."""
    from .resolve import ResolveError, resolve_locator

    try:
        data_stream, expected = resolve_locator(case_dir, locator)
    except ResolveError as error:
        fail(str(error))
    import hashlib

    digest = hashlib.sha256()
    sink = open(output, "xb") if output else sys.stdout.buffer
    try:
        with data_stream as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
                sink.write(chunk)
    finally:
        if output:
            sink.close()
    if expected and digest.hexdigest() != expected:
        console.print("[bold red]MISMATCH:[/] content read now differs from the inventory SHA-256")
        raise typer.Exit(EXIT_WARNINGS)


hashset_app = typer.Typer(help="Inspect and compile known-file hash sets.", no_args_is_help=True)
app.add_typer(hashset_app, name="hashset")


@hashset_app.command("info")
def hashset_info_command(file: Path = typer.Argument(..., help="A hash set in any supported format, or a compiled store.")) -> None:
    """Show the detected format, entry counts per hash type and category, and version/date."""
    from .hashsets import hashset_info

    if not file.is_file():
        fail(f"hash set not found: {file}")
    try:
        info = hashset_info(file)
    except (OSError, ValueError) as error:
        fail(f"cannot read {file}: {error}")
    out.print(json.dumps(info, indent=2, sort_keys=True, ensure_ascii=False), markup=False)
    raise typer.Exit(EXIT_WARNINGS if info.get("problem_count") else EXIT_CLEAN)


@hashset_app.command("import")
def hashset_import_command(
    files: List[str] = typer.Argument(..., help="Hash sets to compile (TYPE:FILE declares a set's type, as --hashset does)."),
    output: Path = typer.Option(..., "-o", "--output", help="The compiled store (SQLite) to create or extend."),
) -> None:
    """Compile hash sets into one indexed local store, with provenance (source SHA-256, format, counts, time)."""
    from .hashsets import import_hashsets
    from .hashsets.declared import parse_hashset_spec

    specs = [parse_hashset_spec(f) for f in files]
    for spec in specs:
        if not os.path.isfile(spec.path):
            fail(f"hash set not found: {spec.path}")
    try:
        results = import_hashsets([s.path for s in specs], str(output),
                                  declared={s.path: s.declared for s in specs if s.declared})
    except (OSError, ValueError) as error:
        fail(f"cannot import: {error}")
    table = Table("source", "status", "details")
    for result in results:
        details = {k: v for k, v in vars(result).items() if k not in ("path", "status")}
        table.add_row(str(getattr(result, "path", "")), str(result.status), json.dumps(details, default=str)[:120])
    out.print(table)


demo_app = typer.Typer(help="Build and scan the synthetic demo / training case.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("build")
def demo_build(
    directory: Path = typer.Argument(..., help="Folder for the demo case (evidence/ is created inside)."),
    seed: int = typer.Option(7, "--seed", help="Seed of the generated content."),
) -> None:
    """Generate the synthetic demo evidence (no real material) under DIRECTORY/evidence."""
    from .demo import DemoError, build_demo

    try:
        items = build_demo(directory, seed)
    except DemoError as error:
        fail(str(error))
    for name, path in items.items():
        out.print(f"{name}: {path}", markup=False)
    out.print(f"hash sets: {directory / 'hashsets'}", markup=False)
    out.print(f"answer key: {directory / 'answers.json'}", markup=False)


@demo_app.command("run")
def demo_run(
    directory: Path = typer.Argument(Path("examples/demo-case"), help="Folder for the demo case."),
    seed: int = typer.Option(7, "--seed", help="Seed of the generated content."),
) -> None:
    """Build the demo evidence (if needed) and scan it into DIRECTORY/case; prints where the report is."""
    from .demo import DemoError, build_demo, scan_options
    from .engine import ScanConfig, iter_evidence_specs
    from .matching import HashSetLoadError
    from .scan import run_scan

    case_dir = directory / "case"
    try:
        items = build_demo(directory, seed)
    except DemoError as error:
        fail(str(error))
    if case_dir.exists():
        shutil.rmtree(case_dir)
    options = scan_options(directory)
    specs = list(iter_evidence_specs([str(p) for p in items.values()], options["evidence_ids"]))
    config = ScanConfig(evidence=specs, case_dir=str(case_dir), case=options["case"],
                        plugin_options=options["plugin_options"], source_options=options["source_options"],
                        hashset_paths=options["hashsets"])
    try:
        result = run_scan(config, argv=sys.argv)
    except HashSetLoadError as error:
        fail(str(error))
    _print_scan_result(result, json_summary=False)
    out.print(f"demo case: {case_dir}", markup=False)
    raise typer.Exit(EXIT_CLEAN if result.exit_code in (0, 1) else result.exit_code)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted: run the same command again to resume", markup=False)
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if os.environ.get("TRAFFICK_TRIAGE_DEBUG"):
            raise
        from .environment_errors import describe

        message = describe(error)
        if message is not None:
            console.print(f"error: {message}", markup=False)
            sys.exit(EXIT_FATAL)
        console.print(f"internal error: {type(error).__name__}: {error}", markup=False)
        console.print("this is a bug in traffick-triage; run again with TRAFFICK_TRIAGE_DEBUG=1 for the "
                      "traceback and report it (docs/security.md)", markup=False)
        sys.exit(EXIT_FATAL)


if __name__ == "__main__":
    main()
