"""A whole scan as a library call: case store, plugins, engine, outputs and
manifests. The CLI only turns options into a ScanConfig and prints the result."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

from . import __version__
from .engine import ScanConfig, ScanOutcome, ScanProgress, ScanRefused, Scanner, refuse_output_inside_evidence
from .audit import append_audit, audit_head
from .case_lock import hold_case
from .scratch import release_case_scratch, use_case_scratch
from .external_sort import keep_sqlite_scratch_in
from .export_matches import ExportError, export_matches
from .matching import describe_hashsets, hashset_warnings, load_hashsets
from .signing import sign_manifest
from .perceptual_matching import match_and_cluster
from .registry import LoadedPlugin, PluginOptionError, check_plugin_options, load_plugins
from .report.case_uco import write_case_jsonld
from .report.csv_tables import write_csv_tables
from .report.dfxml import write_dfxml
from .report.hashdeep import write_evidence_hashdeep
from .report.html import ensure_redaction_key, write_html
from .report.vics_export import write_vics_export
from .report.json_report import REPORT_SCHEMA_VERSION, write_report
from .report.manifest import write_manifests
from .report.side_by_side import run_writers
from .report.timeline import write_timeline
from .store import CaseStore
from .timeutil import iso_utc

# Libraries whose versions decide what the tool sees: recorded in every report.
RECORDED_LIBRARIES = ("pytsk3", "libewf-python", "python-magic", "Pillow", "ExifRead", "pillow-heif",
                      "pdqhash", "ImageHash", "phonenumbers", "vobject", "ijson", "numpy", "dfvfs")


def library_versions() -> dict[str, str]:
    versions = {}
    for name in RECORDED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        import magic

        versions["libmagic"] = str(magic.version()) if hasattr(magic, "version") else "unknown"
    except Exception:  # noqa: BLE001 - a missing libmagic shows up elsewhere, loudly
        pass
    return versions


def environment() -> dict[str, Any]:
    return {"python": platform.python_version(), "libraries": library_versions()}


def now_utc() -> str:
    return iso_utc(_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0))


@dataclass
class ScanResult:
    outcome: ScanOutcome
    case_dir: Path
    report_path: Path
    summary: dict[str, Any]

    @property
    def exit_code(self) -> int:
        return 1 if (self.outcome.warnings or self.outcome.mismatches) else 0


def pin_process_timezone() -> None:
    """TSK converts FAT's zone-less times with the process zone; pin it to UTC
    so the same evidence gives the same values on every examiner's machine."""
    os.environ["TZ"] = "UTC"
    if hasattr(time, "tzset"):
        time.tzset()


def run_scan(config: ScanConfig, plugins: list[LoadedPlugin] | None = None, argv: list[str] | None = None,
             progress: ScanProgress | None = None, sign_key: str | None = None,
             export_matched: bool = False,
             on_hashsets: Callable[[list[dict[str, Any]]], None] | None = None) -> ScanResult:
    """The whole scan. ``on_hashsets`` is told, before the walk, how each hash
    set was read (format, hash types, entries, declared or guessed)."""
    pin_process_timezone()
    refuse_output_inside_evidence(config.case_dir, [spec.path for spec in config.evidence])
    case_dir = Path(config.case_dir)
    if plugins is None:
        plugins = load_plugins()
    try:   # before anything is written: a plugin that cannot work must stop the scan, not skip every file
        check_plugin_options(plugins, [config.plugin_options] + [{**config.plugin_options, **spec.plugin_options}
                                                                 for spec in config.evidence])
    except PluginOptionError as error:
        raise ScanRefused(str(error)) from error
    # The hash sets first: a set that cannot be read (or is not the type declared)
    # stops the scan before anything, the case folder included, is made.
    hashsets = load_hashsets(config.hashset_paths) if config.hashset_paths else None
    try:
        case_dir.mkdir(parents=True, exist_ok=True)
        with hold_case(case_dir, "scan"):
            use_case_scratch(case_dir)      # copies a killed scan left behind are removed here
            try:
                return _run_scan_holding(config, case_dir, plugins, argv, progress, sign_key, export_matched,
                                         hashsets, on_hashsets)
            finally:
                release_case_scratch(case_dir)
    finally:
        if hashsets is not None:
            hashsets.close()


def _run_scan_holding(config: ScanConfig, case_dir: Path, plugins: list[LoadedPlugin],
                      argv: list[str] | None, progress: ScanProgress | None, sign_key: str | None,
                      export_matched: bool, hashsets: Any,
                      on_hashsets: Callable[[list[dict[str, Any]]], None] | None) -> ScanResult:
    started = now_utc()
    store = CaseStore(case_dir)
    keep_sqlite_scratch_in(store.path.parent)
    try:
        _check_resume_compatible(store, config, plugins, hashsets)
        described = store.get_meta("hashsets", [])
        for message in hashset_warnings(described):
            store.add_warning(None, None, "hashset", message)
        if on_hashsets is not None:
            on_hashsets(described)
        run_id = store.start_run("scan", started, {"argv": argv or sys.argv, "case_dir": str(case_dir.resolve())})
        stages = StageClock()
        outcome = Scanner(config, store, plugins, progress, hashsets=hashsets).run()
        store.create_hash_indexes()
        stages.lap("inventory")
        if any(p.name in ("perceptual", "video_pdq") for p in plugins):
            store.begin()
            match_and_cluster(store, hashsets, config.perceptual)
            store.commit()
            stages.lap("perceptual_matching")
        # The run is closed before the outputs are made, so they describe it
        # exactly as `triage report` will when it re-renders them later.
        finished = now_utc()
        record = run_record(store, argv, started, finished, case_dir)
        store.finish_run(run_id, finished, record)
        ensure_redaction_key(store)       # so `triage report --redact` needs no write to the store later
        if export_matched:
            # Only when the examiner asks: copies of matched files, verified,
            # in a folder whose name says what it holds; the manifest covers them.
            try:
                export_matches(store, case_dir)
            except ExportError as error:
                store.add_warning(None, None, "export", f"export of matched files incomplete: {error}")
                outcome.warnings = store.count("warnings")
        write_outputs(store, case_dir)
        stages.lap("outputs")
        summary = _summary(store)
    finally:
        store.close()
    # The manifest's run record takes the memory and time figures after every
    # output was written (the store's copy was closed before, so the outputs
    # could cite it). Run metadata: never in report.json.
    record = {**record, "peak_rss_bytes": _peak_rss(), "peak_rss_largest_worker_bytes": _peak_rss("children"),
              "stages": stages.figures()}
    finalize_case(case_dir, record, "scan", argv or sys.argv, sign_key)
    return ScanResult(outcome=outcome, case_dir=case_dir, report_path=case_dir / "report.json", summary=summary)


class StageClock:
    """Wall and CPU seconds of each stage of a scan (CPU: this process, and the
    worker processes that have ended), for the run record and the benchmarks."""

    def __init__(self) -> None:
        self._stages: list[dict[str, Any]] = []
        self._last = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float]:
        import resource

        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.monotonic(), time.process_time(), children.ru_utime + children.ru_stime

    def lap(self, name: str) -> None:
        now = self._now()
        wall, cpu, workers = (round(b - a, 3) for a, b in zip(self._last, now))
        self._stages.append({"stage": name, "wall_seconds": wall, "cpu_seconds_main": cpu,
                             "cpu_seconds_workers": workers})
        self._last = now

    def figures(self) -> list[dict[str, Any]]:
        return list(self._stages)


def finalize_case(case_dir: Path, record: dict[str, Any], command: str, argv: list[str],
                  sign_key: str | None = None) -> None:
    """Audit line, then the manifests over every output, then (optionally) the
    signature of the manifest: in that order, so each covers what came before."""
    append_audit(case_dir, command, argv)
    write_manifests(case_dir, {**record, "audit": audit_head(case_dir)})
    if sign_key:
        sign_manifest(case_dir, sign_key)


def rerender_case(case_dir: Path, argv: list[str], sign_key: str | None = None, lang: str = "en",
                  redact: bool = False, thumbnails: bool = False) -> list[Path]:
    """`triage report`: every output again from the store alone, plus the
    HTML variant asked for (another language, redacted, with thumbnails)."""
    with hold_case(case_dir, "report"):
        return _rerender_holding(case_dir, argv, sign_key, lang, redact, thumbnails)


def _rerender_holding(case_dir: Path, argv: list[str], sign_key: str | None, lang: str,
                      redact: bool, thumbnails: bool) -> list[Path]:
    store = CaseStore(case_dir)
    keep_sqlite_scratch_in(store.path.parent)
    try:
        written = write_outputs(store, case_dir)
        if (lang, redact, thumbnails) != ("en", False, False):
            ensure_redaction_key(store)
            written.append(write_html(store, case_dir, lang=lang, redact=redact, thumbnails=thumbnails))
        previous = [run for run in store.runs() if run["command"] == "scan" and run["finished"]]
        record = dict(previous[-1]["record"]) if previous else run_record(store, argv, now_utc(), now_utc(), case_dir)
    finally:
        store.close()
    record["rendered_by"] = {"command_line": list(argv), "utc": now_utc()}
    finalize_case(case_dir, record, "report", argv, sign_key)
    return written


def _summary(store: CaseStore) -> dict[str, Any]:
    from .report.json_report import summarise

    return summarise(store)


def _check_resume_compatible(store: CaseStore, config: ScanConfig, plugins: list[LoadedPlugin],
                             hashsets: Any = None) -> None:
    """A case folder holds one scan. Starting the same scan again resumes it;
    a different one must go to a new folder, or the report would mix both."""
    options = {
        "case": config.case,
        "evidence": [{"id": s.evidence_id, "path": os.path.abspath(s.path), "plugin_options": s.plugin_options}
                     for s in config.evidence],
        "plugin_options": config.plugin_options, "source_options": config.source_options,
        "perceptual": vars(config.perceptual),
        "plugin_timeout": config.plugin_timeout,
    }
    if not config.media_hash:       # recorded only when asked: earlier cases resume and read as before
        options["media_hash"] = False
    plugin_list = [{"name": p.name, "version": p.version, "description": p.plugin.DESCRIPTION,
                    "selector": p.plugin.SELECTOR.describe()} for p in plugins]
    identity = {"tool": {"name": "traffick-triage", "version": __version__},
                "report_schema_version": REPORT_SCHEMA_VERSION, "environment": environment()}
    sets = describe_hashsets(hashsets) if hashsets is not None else []
    previous = store.get_meta("options")
    if previous is not None and (previous != _jsonable(options) or store.get_meta("plugins") != plugin_list
                                 or store.get_meta("hashsets") != _jsonable(sets)):
        raise ScanRefused(f"{config.case_dir} already holds a scan with other evidence, options or plugins; "
                          "use a new CASE_DIR (the same command resumes an interrupted scan)")
    store.set_meta("options", options)
    store.set_meta("case", config.case)
    store.set_meta("plugins", plugin_list)
    if config.source_options.get("expand", True):
        from .expansion.registry import describe_expanders

        store.set_meta("expanders", describe_expanders())
    else:
        store.set_meta("expanders", [])
    store.set_meta("hashsets", sets)
    store.set_meta("identity", identity)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))


def write_outputs(store: CaseStore, case_dir: Path) -> list[Path]:
    """Every output made from the store (also used by `triage report`). The
    writers run side by side in processes of their own, which read the store
    through their own connections: what `store` has not committed, they do
    not see (run_writers then runs them here, one after another)."""
    # Longest first, so the cores finish together.
    jsonld, html, timeline, report, dfxml, csv_tables, hashdeep, geo, vics = run_writers(store, case_dir, [
        write_case_jsonld, write_html, write_timeline, write_report, write_dfxml, write_csv_tables,
        write_evidence_hashdeep, _write_geo, write_vics_export])
    return [report, hashdeep, *timeline, *geo, jsonld, dfxml, vics, *csv_tables, html]


def _write_geo(store: CaseStore, case_dir: Path) -> list[Path]:
    try:
        from .report.geo import write_geojson, write_kml
    except ImportError:
        return []
    geojson, kml = case_dir / "locations.geojson", case_dir / "locations.kml"
    # Read from the store once per writer: the points are never all held.
    write_geojson(geotagged_points(store), geojson)
    write_kml(geotagged_points(store), kml)
    return [geojson, kml]


def geotagged_points(store: CaseStore) -> Iterator[dict[str, Any]]:
    """One point per geotag finding: any finding whose data carries numeric
    latitude and longitude (the plugin contract for geotags)."""
    for finding in store.findings():
        data = finding["data"]
        lat, lon = data.get("latitude"), data.get("longitude")
        if not isinstance(lat, (int, float)) or not isinstance(lon, (int, float)):
            continue
        file_row = store.file_by_locator(finding["locator"])
        yield {
            "locator": finding["locator"], "latitude": lat, "longitude": lon, "altitude": data.get("altitude"),
            "time": data.get("gps_time_utc") or data.get("capture_time_utc") or data.get("time_utc"),
            "md5": file_row["md5"] if file_row else None, "sha1": file_row["sha1"] if file_row else None,
            "sha256": file_row["sha256"] if file_row else None,
            "evidence_id": finding["evidence_id"], "source": f"{finding['plugin']}:{finding['kind']}",
        }


def run_record(store: CaseStore, argv: list[str] | None, started: str, finished: str,
               case_dir: Path) -> dict[str, Any]:
    identity = store.get_meta("identity", {})
    return {
        "tool": identity.get("tool"), "report_schema_version": identity.get("report_schema_version"),
        "environment": identity.get("environment"), "platform": platform.platform(),
        "plugins": store.get_meta("plugins", []), "hashsets": store.get_meta("hashsets", []),
        "expanders": store.get_meta("expanders", []),
        "case": store.get_meta("case", {}), "options": store.get_meta("options", {}),
        "command_line": list(argv or sys.argv), "case_dir": str(case_dir.resolve()),
        "started_utc": started, "finished_utc": finished,
        "peak_rss_bytes": _peak_rss(),
    }


def _peak_rss(who: str = "self") -> int | None:
    """Peak resident memory in bytes: of this process, or ("children") of the
    largest worker process that has ended.

    For this process, Linux's VmHWM: getrusage's figure survives exec, so a
    scan started by a large process (a lab's Python batch driver, a test
    runner) would report that process's peak instead of its own."""
    if who == "self":
        try:
            with open("/proc/self/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    try:
        import resource

        target = resource.RUSAGE_SELF if who == "self" else resource.RUSAGE_CHILDREN
        return int(resource.getrusage(target).ru_maxrss) * 1024
    except (ImportError, OSError):
        return None


__all__ = ["run_scan", "write_outputs", "ScanResult", "ScanRefused"]
