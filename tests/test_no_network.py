"""Nothing out: a full scan of the demo case opens no socket at all.

The scan runs in a subprocess whose ``sitecustomize`` replaces every way
Python makes a socket (socket.socket, socketpair, create_connection,
getaddrinfo, and the _socket C type) with a function that records the call
and raises. Where ``unshare -n`` works (root, as in CI) the subprocess also
runs in a new, empty network namespace (only a loopback interface, down),
so even a socket made outside Python could not reach anything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRIAGE = Path(sys.executable).with_name("triage")   # the interpreter running the tests, as make test's .venv

SITECUSTOMIZE = textwrap.dedent('''
    import os, socket, _socket, traceback

    _LOG = os.environ["TRIAGE_SOCKET_LOG"]

    def _record(what):
        def refuse(*args, **kwargs):
            with open(_LOG, "a", encoding="utf-8") as log:
                log.write(f"pid {os.getpid()}: {what}{args!r}\\n")
                log.write("".join(traceback.format_stack(limit=8)) + "\\n")
            raise OSError(f"network blocked by the test: {what}")
        return refuse

    class _BlockedSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            _record("socket.socket")(*args, **kwargs)

    socket.socket = _BlockedSocket
    socket.SocketType = _BlockedSocket
    _socket.socket = _BlockedSocket
    for _name in ("socketpair", "create_connection", "create_server", "getaddrinfo", "gethostbyname",
                  "gethostbyname_ex", "fromfd"):
        if hasattr(socket, _name):
            setattr(socket, _name, _record("socket." + _name))
''')


def _unshare_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def test_full_demo_scan_opens_no_socket(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "sockets.log"
    env = {**os.environ, "PYTHONPATH": str(site), "TRIAGE_SOCKET_LOG": str(log),
           "http_proxy": "http://192.0.2.1:9", "https_proxy": "http://192.0.2.1:9"}
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.socket()"], env=env,
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "network blocked by the test" in probe.stderr   # the trap works
    log.unlink()

    prefix = _unshare_prefix()
    done = subprocess.run([*prefix, str(TRIAGE), "demo", "run", str(tmp_path / "demo")], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    case = tmp_path / "demo" / "case"
    assert (case / "report.json").is_file() and (case / "MANIFEST.sha256").is_file()
    verified = subprocess.run([*prefix, str(TRIAGE), "verify", str(case)], env=env, capture_output=True,
                              text=True, timeout=300)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert not log.exists(), "sockets were opened:\n" + log.read_text(encoding="utf-8")
