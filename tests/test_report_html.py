"""The HTML report (report/html.py): the synthetic demo case plus a folder of
hostile names and fields, rendered in English and Arabic and loaded in
headless Chromium driven over the DevTools protocol (--remote-debugging-pipe,
no port), which records every request the page makes.

Screenshots go to tests/artifacts/ (git-ignored). Chromium is Debian's
`chromium` package; without it the browser tests skip, except under CI=true
where they fail."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import select
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from evidence_builders import scan
from traffick_triage.demo.minimal import _dms, _sms_db
from traffick_triage.demo.minimal import build_minimal_demo as build_demo
from traffick_triage.report import html as report_html
from traffick_triage.report.html import (Redactor, available_languages, ensure_redaction_key, html_filename,
                                         render_html, script_json, write_html)
from traffick_triage.store import CaseStore

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HOSTILE_NAME = "<img src=x onerror=alert(1)>.jpg"
SCRIPT_PAYLOAD = "</script><script>window.__pwned=1;alert(1)</script>"
CONTACT_PAYLOAD = "<b onmouseover=alert(2)>Eve</b>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# raw values of the demo case that a redacted report must not contain
DEMO_PII = ["+96551234567", "+965 5123 4567", "0096551234567", "51234567", "+201001234567", "+20 100 123 4567",
            "recruit@example.org", "Recruiter Sam", "محمد العلي"]


def need_browser() -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")


# -- the case ------------------------------------------------------------------------


def _jpeg(colour: tuple[int, int, int], make: str = "TestCam", gps: tuple[float, float] | None = None,
          size=(320, 240)) -> bytes:
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 16):            # some structure, so the bytes are distinctive
        for y in range(0, size[1], 16):
            image.putpixel((x, y), ((x * 7) % 256, (y * 5) % 256, (x + y) % 256))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = make, "Model " + make
    exif.get_ifd(0x8769)[0x9003] = "2024:04:01 10:00:00"
    if gps:
        block = exif.get_ifd(0x8825)
        block[1], block[2] = ("N" if gps[0] >= 0 else "S"), _dms(gps[0])
        block[3], block[4] = ("E" if gps[1] >= 0 else "W"), _dms(gps[1])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("html-report")
    items = build_demo(root)
    folder = root / "evidence-folder"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / HOSTILE_NAME).write_bytes(_jpeg((40, 90, 160), make=SCRIPT_PAYLOAD, gps=(25.2854, 51.5310)))
    planted = _jpeg((200, 30, 30), make="PlantedCam")
    (folder / "known").mkdir()
    (folder / "known" / "planted.jpg").write_bytes(planted)
    (folder / "photos" / "copy_of_planted.jpg").write_bytes(planted)        # same bytes, other name
    perceptual = _jpeg((30, 160, 60), make="NearCam")
    (folder / "photos" / "near_duplicate.jpg").write_bytes(perceptual)
    (folder / "photos" / "series_a.jpg").write_bytes(_jpeg((120, 120, 20)))
    (folder / "photos" / "series_b.jpg").write_bytes(_jpeg((120, 121, 20)))
    (folder / "photos" / "benign.jpg").write_bytes(_jpeg((230, 230, 230), make="BenignCam"))
    db_dir = folder / "data" / "data" / "com.android.providers.telephony" / "databases"
    db_dir.mkdir(parents=True)
    _sms_db(db_dir / "mmssms.db", [("+96551234567", 1710000000000, SCRIPT_PAYLOAD, 1)])
    (folder / "contacts.vcf").write_text(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{CONTACT_PAYLOAD}\r\nTEL:+965 5123 4567\r\nEND:VCARD\r\n", encoding="utf-8")
    case_dir = root / "case"
    scan([items["laptop"], items["phone"], folder], case_dir, "--case-number", "TEST-2024-7",
         "--examiner", "Test Examiner", "--agency", "Test Agency", "--region", "KW",
         "--evidence-id", "LAPTOP-1", "--evidence-id", "PHONE-1", "--evidence-id", "FOLDER-1")
    # Hash-set and perceptual matching are planted as findings, the way the
    # matchers store them.
    store = CaseStore(case_dir)
    locators = {row["path"]: row["locator"] for row in store.files() if row["evidence_id"] == "FOLDER-1"}
    planted_locator = locators["/known/planted.jpg"]
    store.begin()
    store.add_finding("FOLDER-1", planted_locator, "hashset", "1.0.0", "hashset.match",
                      {"set_name": "test-known-bad", "hash_type": "sha256", "known_good": False,
                       "category": "Test category 1", "category_code": 1, "scheme": "vics-us",
                       "series": "TEST-SERIES-9", "label": None, "victim_identified": None,
                       "is_distributed": None}, [])
    store.add_finding("FOLDER-1", locators["/photos/near_duplicate.jpg"], "perceptual", "1.0.0", "perceptual.match",
                      {"algorithm": "pdq", "distance": 12, "threshold": 31, "set": "test-pdq-set",
                       "label": "ref-0042", "category": "Test category 2"}, [])
    for name in ("series_a.jpg", "series_b.jpg"):
        store.add_finding("FOLDER-1", locators[f"/photos/{name}"], "perceptual", "1.0.0", "perceptual.cluster",
                          {"cluster_id": "pdq-c00001", "size": 2, "max_distance": 4}, [])
    store.commit()
    ensure_redaction_key(store)
    store.close()
    return {"dir": case_dir, "planted": planted, "planted_locator": planted_locator, "perceptual": perceptual,
            "locators": locators}


def render(case: dict, **options) -> str:
    store = CaseStore(case["dir"], readonly=True)
    try:
        return render_html(store, case["dir"], **options)
    finally:
        store.close()


def write(case: dict, **options) -> Path:
    store = CaseStore(case["dir"], readonly=True)
    try:
        return write_html(store, case["dir"], **options)
    finally:
        store.close()


# -- a small DevTools-protocol client over --remote-debugging-pipe -------------------------------


class Browser:
    """Chromium with its DevTools pipe on fds 3 (commands in) and 4 (replies
    and events out): every event is kept, so Network.requestWillBeSent,
    dialogs, console messages and exceptions can be checked afterwards."""

    def __init__(self, width: int = 1366, height: int = 768) -> None:
        self.profile = tempfile.mkdtemp(prefix="triage-chromium-")
        to_chrome_r, self._out = os.pipe()
        self._in, from_chrome_w = os.pipe()

        def fds() -> None:
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe",
             f"--window-size={width},{height}", "about:blank"],
            preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.size = (width, height)
        self.buffer, self.last_id, self.events = b"", 0, []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=self.session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False}, session=self.session)

    def _write(self, message: dict) -> None:
        os.write(self._out, json.dumps(message).encode() + b"\0")

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30):
        self.last_id += 1
        wanted = self.last_id
        message = {"id": wanted, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        deadline = time.monotonic() + timeout
        while True:
            for reply in self._pump(deadline):
                if reply.get("id") == wanted:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})

    def _pump(self, deadline: float) -> list[dict]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._in], [], [], left)
            if ready:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its DevTools pipe")
                self.buffer += chunk
        messages = []
        while b"\0" in self.buffer:
            raw, self.buffer = self.buffer.split(b"\0", 1)
            message = json.loads(raw)
            if "method" in message:
                self.events.append(message)
                if message["method"] == "Page.javascriptDialogOpening":   # record it, then let the page go on
                    self.last_id += 1
                    self._write({"id": self.last_id, "method": "Page.handleJavaScriptDialog",
                                 "params": {"accept": True}, "sessionId": message.get("sessionId")})
            messages.append(message)
        return messages

    def navigate(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session=self.session)
        deadline = time.monotonic() + 30
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            self._pump(deadline)
        time.sleep(0.5)                       # late requests, timers
        self.eval("1")

    def eval(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                           session=self.session)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=self.session)["data"]
        path.write_bytes(base64.b64decode(data))

    def events_named(self, *names: str) -> list[dict]:
        return [e for e in self.events if e["method"] in names]

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events_named("Network.requestWillBeSent")]

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._out)
        os.close(self._in)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    need_browser()
    instance = Browser()
    yield instance
    instance.close()


def dump_dom(path: Path) -> str:
    need_browser()
    with tempfile.TemporaryDirectory(prefix="triage-chromium-") as profile:
        done = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                               path.resolve().as_uri()], capture_output=True, timeout=120, check=True)
    return done.stdout.decode("utf-8")


# -- tests ---------------------------------------------------------------------------


def test_file_names_and_languages():
    assert html_filename() == "report.html"
    assert html_filename("ar") == "report.ar.html"
    assert html_filename("en", redact=True) == "report.redacted.html"
    assert html_filename("ar", redact=True, thumbnails=True) == "report.ar.redacted.thumbnails.html"
    assert {"en", "ar"} <= set(available_languages())
    with pytest.raises(ValueError):
        report_html._translations("xx")


def test_dom_english_and_arabic(case):
    """--dump-dom of the rendered pages: headings, counts from the store, RTL."""
    english = dump_dom(write(case))
    arabic = dump_dom(write(case, lang="ar"))
    for heading in ("Summary", "Case and chain of custody", "Known-bad hash matches", "Perceptual matches",
                    "Unknown-image clusters", "Map of geotagged items", "Timeline", "Contacts, calls and messages",
                    "Identifier index", "Keyword hits", "Extension mismatches", "Deleted files", "Warnings",
                    "Manifest"):
        assert f"<h2>{heading}</h2>" in english, heading
    assert '<html lang="en" dir="ltr">' in english
    assert '<html lang="ar" dir="rtl">' in arabic
    for heading in ("الملخص", "القضية وسلسلة الحيازة", "الخط الزمني", "فهرس المعرّفات"):
        assert f"<h2>{heading}</h2>" in arabic, heading
    store = CaseStore(case["dir"], readonly=True)
    try:
        files = store.count("files", "kind = 'file'")
        deleted = store.count("files", "kind = 'file' AND allocated = 0")
        messages = store.count("findings", "kind = 'comms.message'")
        contacts = store.count("findings", "kind = 'comms.contact'")
        clusters = len({json.dumps([f["data"].get("cluster_id"), f["data"].get("cluster")])
                        for f in store.findings() if f["kind"] == "perceptual.cluster"})
    finally:
        store.close()
    for dom, labels in ((english, ("Files", "Deleted files", "Messages", "Contacts", "Known-bad files",
                                   "Perceptual matches", "Image clusters")),
                        (arabic, ("الملفات", "الملفات المحذوفة", "الرسائل", "جهات الاتصال", "ملفات محظورة معروفة",
                                  "التطابقات الإدراكية", "مجموعات الصور"))):
        cards = dict((label, int(n)) for n, label in
                     re.findall(r'<span class="n">(\d+)</span><span class="l">([^<]+)</span>', dom))
        assert cards[labels[0]] == files and cards[labels[1]] == deleted
        assert cards[labels[2]] == messages == 4 and cards[labels[3]] == contacts == 3
        assert cards[labels[4]] == 1 and cards[labels[5]] == 1 and cards[labels[6]] == clusters >= 1
    # the chain of custody: E01 verified, the command line of the scan, the categories
    assert "VERIFIED" in english and "TEST-2024-7" in english and "Test Examiner" in english
    assert "TEST-SERIES-9" in english and "Test category 1" in english
    assert ">12<" in english and ">31<" in english          # perceptual distance and threshold
    assert "pdq-c00001" in english
    # the script ran (counters filled in) in both
    assert "rows shown: " in english and "الصفوف المعروضة: " in arabic


def test_static_page_is_self_contained_with_strict_csp(case):
    page = render(case, thumbnails=True)
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(styles) == 1 and len(scripts) == 1
    for kind, block in (("style-src", styles[0]), ("script-src", scripts[0])):
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"{kind} 'sha256-{digest}'" in csp
    assert "img-src data:" in csp and "img-src data:" not in render(case)
    assert "<link" not in page and "@import" not in page and "url(" not in styles[0]
    for attribute in re.findall(r'(?:src|href|action|poster|data)="([^"]*)"', page):
        assert attribute.startswith(("#", "data:image/jpeg;base64,")), attribute
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg\")", page)
    # evidence strings are escaped in the HTML source
    assert HOSTILE_NAME not in page and "&lt;img src=x onerror=alert(1)&gt;.jpg" in page
    assert SCRIPT_PAYLOAD not in page
    assert page.count("<script") == 2            # the JSON block and the page script, nothing injected


def test_script_json_cannot_close_the_block():
    value = {"a": SCRIPT_PAYLOAD, "b": "<!-- x --> & \u2028\u2029"}
    text = script_json(value)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == value


def test_browser_loads_without_requests_or_script_injection(case, browser):
    """Each variant in Chromium: the only request is the page itself, no
    dialog opens, no CSP violation or exception is logged, no global or
    element comes from the evidence, and the page's own script did run."""
    ARTIFACTS.mkdir(exist_ok=True)
    variants = [("en", {}), ("ar", {"lang": "ar"}), ("en-thumbnails", {"thumbnails": True, "training": True}),
                ("en-redacted", {"redact": True})]
    for label, options in variants:
        path = write(case, **options)
        url = path.resolve().as_uri()
        browser.navigate(url)
        # the page itself, then (thumbnails only) its own inline data: images, which touch no network
        requests = browser.requests()
        assert requests[0] == url, (label, requests[:3])
        inline = [r for r in requests[1:] if r.startswith("data:image/jpeg;base64,")]
        assert inline == requests[1:], (label, [r[:80] for r in requests[1:]])
        assert bool(inline) == (label == "en-thumbnails")
        assert not browser.events_named("Page.javascriptDialogOpening"), label
        assert not browser.events_named("Runtime.exceptionThrown"), label
        logged = [e["params"]["entry"]["text"] for e in browser.events_named("Log.entryAdded")]
        logged += [json.dumps(e["params"]["args"]) for e in browser.events_named("Runtime.consoleAPICalled")]
        assert not logged, (label, logged)
        assert browser.eval("typeof window.__pwned") == "undefined"
        assert browser.eval("document.querySelectorAll('img[src=\"x\"], b[onmouseover], [onerror]').length") == 0
        assert browser.eval("document.scripts.length") == 2
        assert browser.eval("document.documentElement.dir") == ("rtl" if label == "ar" else "ltr")
        # the script ran: counters filled, sorting and filtering work
        rows = browser.eval("document.querySelectorAll('#t-timeline tbody tr').length")
        assert browser.eval("document.querySelector('#t-timeline .count').textContent").endswith(f" / {rows}")
        if label != "en-redacted":
            assert browser.eval("document.body.innerText.includes(" + json.dumps(HOSTILE_NAME) + ")")
            assert browser.eval("document.body.innerText.includes(" + json.dumps(SCRIPT_PAYLOAD) + ")")
        if label == "en":
            browser.eval("var i=document.querySelector('#t-timeline input.filter'); i.value='passport';"
                         "i.dispatchEvent(new Event('input'))")
            visible = browser.eval("[...document.querySelectorAll('#t-timeline tbody tr')].filter(r=>!r.hidden).length")
            assert visible == 1
            browser.eval("document.querySelector('#t-geo thead th').click()")
            latitudes = browser.eval("[...document.querySelectorAll('#t-geo tbody tr')].map(r=>+r.cells[0].textContent)")
            assert latitudes == sorted(latitudes)
            # clicking a map point lists its items
            browser.eval("document.querySelector('svg.map .pt').dispatchEvent(new MouseEvent('click'))")
            assert browser.eval("document.querySelectorAll('#map-items li').length") >= 1
        if label in ("en", "ar"):
            browser.eval("window.scrollTo(0, 0)")
            browser.screenshot(ARTIFACTS / f"report-summary-{label}.png")
        if label == "en-thumbnails":
            assert browser.eval("document.querySelectorAll('img.thumb').length") >= 3
            blur = browser.eval("getComputedStyle(document.querySelector('img.thumb')).filter")
            assert "blur" in blur
            browser.eval("document.querySelector('img.thumb').click()")
            assert browser.eval("getComputedStyle(document.querySelector('img.thumb')).filter") == "none"
            assert browser.eval("document.querySelector('.banner.training') !== null")
            browser.eval("document.getElementById('map').scrollIntoView()")
            browser.eval("document.querySelector('svg.map .pt').dispatchEvent(new MouseEvent('click'))")
            browser.screenshot(ARTIFACTS / "report-map-en.png")


def test_no_pixel_data_of_matched_images(case):
    page = render(case, thumbnails=True)
    banned = {case["planted"], case["perceptual"]}
    store = CaseStore(case["dir"], readonly=True)
    try:
        images = [row for row in store.files() if (row["mime"] or "").startswith("image/")]
    finally:
        store.close()
    matched_hashes = {hashlib.sha256(data).hexdigest() for data in banned}
    matched = [row["locator"] for row in images if row["sha256"] in matched_hashes]
    assert len(matched) == 3                  # planted.jpg, its copy, the perceptual match
    for data in banned:
        assert base64.b64encode(data).decode() not in page
        for start in range(0, len(data) - 60, 999):        # no aligned 60-byte window either
            assert base64.b64encode(data[start - start % 3:start - start % 3 + 60]).decode() not in page
        assert data[:400].decode("latin-1") not in page
    for locator in matched:
        thumb = report_html._thumbnail(case["dir"], locator, set())
        assert thumb and thumb[len("data:image/jpeg;base64,"):] not in page
    # the other images do get thumbnails (proves the check above can fail)
    benign = next(row["locator"] for row in images if row["path"] == "/photos/benign.jpg")
    thumb = report_html._thumbnail(case["dir"], benign, set())
    assert thumb in page
    assert "data:image" not in render(case)


def test_rerender_is_byte_identical(case):
    for options in ({}, {"lang": "ar"}, {"redact": True}, {"thumbnails": True}):
        first = write(case, **options).read_bytes()
        second = write(case, **options).read_bytes()
        assert first == second, options
        assert render(case, **options).encode("utf-8") == first


def test_redaction_masks_consistently(case):
    page = render(case, redact=True)
    for value in DEMO_PII + ["&lt;b onmouseover=alert(2)&gt;Eve&lt;/b&gt;"]:
        assert value not in page, value
    assert 'class="banner redacted"' in page
    store = CaseStore(case["dir"], readonly=True)
    try:
        key = bytes.fromhex(store.get_meta("redaction_key"))
    finally:
        store.close()
    redactor = Redactor(key, "KW")
    token = redactor.phone("+96551234567")
    assert token.startswith("PHONE-")
    assert redactor.phone("+965 5123 4567") == redactor.phone("0096551234567") == redactor.phone("51234567") == token
    assert redactor.email("Recruit@Example.org") == redactor.email("recruit@example.org")
    assert redactor.name("Recruiter  Sam") == redactor.name("recruiter sam")
    redactor.learn_name("Sam Smith")
    masked = redactor.text("On 2024-03-02 Sam Smith (+965 5123 4567) met Sam Smithers")
    assert masked == (f"On 2024-03-02 {redactor.name('sam smith')} ({token}) met Sam Smithers")
    # the same token in contacts, messages, identifier index and free text
    assert page.count(token) >= 6
    for section in ("t-contacts", "t-messages", "t-identifiers", "t-timeline"):
        block = page.split(f'id="{section}"', 1)[1].split("</table>", 1)[0]
        assert token in block, section
    assert redactor.name("Recruiter Sam") in page and redactor.email("recruit@example.org") in page
    # another key, other tokens: they cannot be recomputed without the case's key
    assert Redactor(b"\0" * 32, "KW").phone("+96551234567") != token
    assert render(case, redact=True) == page
    assert "redaction_key" not in page and key.hex() not in page


def test_redaction_needs_a_key_on_a_readonly_store(tmp_path, case):
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(case["dir"] / "case.sqlite", copy / "case.sqlite")
    db = sqlite3.connect(copy / "case.sqlite")
    db.execute("DELETE FROM meta WHERE key = 'redaction_key'")
    db.commit()
    db.close()
    store = CaseStore(copy, readonly=True)
    with pytest.raises(report_html.RedactionKeyMissing):
        render_html(store, copy, redact=True)
    store.close()
    store = CaseStore(copy)
    first = render_html(store, copy, redact=True)
    store.close()
    store = CaseStore(copy, readonly=True)
    assert render_html(store, copy, redact=True) == first
    store.close()


def test_training_banner_and_mismatch_are_loud(tmp_path, case):
    assert 'class="banner training"' not in render(case)
    assert 'class="banner training"' in render(case, training=True)
    copy = tmp_path / "mismatch"
    copy.mkdir()
    shutil.copy(case["dir"] / "case.sqlite", copy / "case.sqlite")
    db = sqlite3.connect(copy / "case.sqlite")
    db.execute("UPDATE evidence SET verification = 'MISMATCH' WHERE id = 'LAPTOP-1'")
    db.execute("UPDATE meta SET value = json_set(value, '$.plugin_options.training', json('true')) "
               "WHERE key = 'options'")
    db.commit()
    db.close()
    store = CaseStore(copy, readonly=True)
    page = render_html(store, copy)
    store.close()
    assert 'class="banner mismatch"' in page and '<span class="badge bad">MISMATCH</span>' in page
    assert 'class="banner training"' in page                 # from the scan's own options
    # No manifest.json beside this copy: the page says the same as beside one (it never cites it).
    assert "manifest.json, written after this page" in page and "SHA-256 of manifest.json" not in page


def test_empty_case_sections_say_none(tmp_path):
    store = CaseStore(tmp_path)
    store.set_meta("case", {"case_number": "EMPTY-1", "examiner": "", "agency": ""})
    page = render_html(store, tmp_path)
    store.close()
    assert page.count("None found.") >= 10
    assert 'id="map"' in page and "<svg" not in page


def test_catalogues_are_complete_and_compiled():
    from babel.messages.extract import extract_from_dir
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    locale = report_html.LOCALE_DIR
    method_map = [("**/report/html.py", "python"), ("**/templates/*.j2", "jinja2")]
    options = {"**/templates/*.j2": {"extensions": "jinja2.ext.i18n"}}
    used = {message for _f, _l, message, _c, _x in
            extract_from_dir(str(report_html.PACKAGE_DIR), method_map, options, keywords={"_": None})}
    with open(locale / "traffick_triage.pot", "rb") as stream:
        template = {m.id for m in read_po(stream) if m.id}
    assert used == template, "run pybabel extract (see locale/babel.cfg)"
    for lang in available_languages():
        if lang == "en":
            continue
        with open(locale / lang / "LC_MESSAGES" / "traffick_triage.po", "rb") as stream:
            po = {m.id: m.string for m in read_po(stream) if m.id}
        with open(locale / lang / "LC_MESSAGES" / "traffick_triage.mo", "rb") as stream:
            mo = {m.id: m.string for m in read_mo(stream) if m.id}
        assert set(po) == template and all(po.values()), f"{lang}: untranslated strings"
        assert po == mo, f"{lang}: the .mo is older than the .po (pybabel compile)"
