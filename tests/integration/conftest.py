"""Fixtures of the integration suites: the fake Pinterest server and real mounts of pinfs.

Every mount runs the real binary in the foreground against a fake server started for the test.
Teardown always unmounts and stops both, and fails the test when the daemon logged a warning,
an error or a sanitizer report it did not expect, or when the server saw a request or gave an
answer that Pinterest's published OpenAPI description does not allow.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests" / "fake_pinterest" / "server.py"
PINFS = Path(os.environ.get("PINFS_BIN", ROOT / "build" / "pinfs"))
TOKEN = "test-token-0123456789abcdef"
# Lines in the daemon's log that fail a test unless the test says it expects them.
BAD_LOG = re.compile(r"pinfs: (error|warning):|AddressSanitizer|LeakSanitizer|runtime error:|"
                     r"==\d+==ERROR|Fatal glibc error|Assertion .* failed")


class FakeServer:
    """A running tests/fake_pinterest/server.py and its admin routes."""

    # An ssl.SSLContext trusting the server's CA when it serves https (test_security's TLS tests).
    context = None

    def __init__(self, seed, extra=(), scheme="http"):
        self.log = tempfile.NamedTemporaryFile(prefix="fake-", suffix=".log", delete=False)
        cmd = ["/usr/bin/python3", str(SERVER), "--port", "0", "--token", TOKEN,
               "--seed", seed, *extra]
        # meson test sets MALLOC_PERTURB_ for the code under test; in the fake server it fills
        # every large buffer of a 60 MiB upload again and again (tens of seconds).
        env = {k: v for k, v in os.environ.items() if k != "MALLOC_PERTURB_"}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=env)
        line = self.proc.stdout.readline().strip()
        if not line.startswith(scheme + "://"):
            self.stop()
            raise RuntimeError(f"fake server did not start: {line!r}; log {self.log.name}")
        self.api = line
        self.base = line[: -len("/v5")]

    def admin(self, method, route, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + "/_fake/" + route, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30, context=self.context) as r:
            text = r.read()
        return json.loads(text) if text else None

    def v5(self, method, path, body=None, token=TOKEN):
        """Calls the API as another client would, to change the account behind pinfs' back."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30, context=self.context) as r:
            text = r.read()
        return json.loads(text) if text else None

    def fetch(self, url):
        with urllib.request.urlopen(url, timeout=30, context=self.context) as r:
            return r.read()

    def counts(self):
        return self.admin("GET", "counts")["counts"]

    def reset_counts(self):
        self.admin("POST", "counts/reset", {})

    def state(self, images=False):
        return self.admin("GET", "state" + ("?images=1" if images else ""))

    def fault(self, **spec):
        self.admin("POST", "faults", spec)

    def violations(self):
        return self.admin("GET", "violations")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Mount:
    """pinfs mounted in the foreground on a fresh directory."""

    def __init__(self, server, opts=(), cache_dir=None, env=None, args=(), wrapper=(),
                 timeout=20):
        # wrapper: a command pinfs runs under (valgrind); timeout: seconds to mount, and to exit
        # after the unmount.
        self.server = server
        self.timeout = timeout
        self.dir = Path(tempfile.mkdtemp(prefix="pinfs-mnt-"))
        self.cache_dir = cache_dir or tempfile.mkdtemp(prefix="pinfs-cache-")
        self.logfile = tempfile.NamedTemporaryFile(prefix="pinfs-", suffix=".log", delete=False)
        self.expected_log = []
        o = ",".join([f"api_url={server.api}", f"cache_dir={self.cache_dir}", *opts])
        cmd = [*wrapper, str(PINFS), "-f", "-o", o, *args, str(self.dir)]
        full_env = dict(os.environ, PINFS_ACCESS_TOKEN=TOKEN)
        full_env.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=self.logfile, stderr=subprocess.STDOUT,
                                     env=full_env)
        self._wait_mounted()

    def _wait_mounted(self):
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if os.path.ismount(self.dir):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"pinfs exited with {self.proc.returncode}: {self.log()}")
            time.sleep(0.02)
        raise RuntimeError(f"pinfs did not mount in {self.timeout} s: " + self.log())

    def path(self, *parts):
        return self.dir.joinpath(*parts)

    def log(self):
        return Path(self.logfile.name).read_text(errors="replace")

    def expect_log(self, pattern):
        """Allows log lines matching pattern (a regex) for this mount."""
        self.expected_log.append(re.compile(pattern))

    def unexpected_log_lines(self):
        # The access token must never reach a log, whatever a test expects (docs/security.md).
        return [line for line in self.log().splitlines()
                if TOKEN in line or
                (BAD_LOG.search(line) and not any(p.search(line) for p in self.expected_log))]

    def mounted(self):
        """In the mount table, alive or not: a dead daemon's mount fails os.path.ismount
        (ENOTCONN) yet stays until it is unmounted."""
        with open("/proc/self/mounts") as f:
            return any(line.split()[1] == str(self.dir) for line in f)

    def crashed(self):
        """The signal that killed pinfs when it was a crash, else None."""
        rc = self.proc.returncode
        crashes = (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL, signal.SIGFPE)
        return signal.Signals(-rc).name if rc is not None and -rc in crashes else None

    def unmount(self):
        if self.mounted():
            # The kernel sends RELEASE for the last close() in the background and drops what is
            # still queued at unmount: the daemon would never free those handles, and ASan's
            # leak check would blame pinfs (or libfuse, for a directory). Let them arrive.
            time.sleep(0.2)
            r = subprocess.run(["fusermount3", "-u", str(self.dir)], capture_output=True)
            if r.returncode != 0:
                subprocess.run(["fusermount3", "-u", "-z", str(self.dir)], capture_output=True)
        try:
            self.proc.wait(self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.logfile.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def spec_file():
    env = os.environ.get("PINFS_OPENAPI")
    path = Path(env) if env else ROOT.parent / "shared" / "pinterest-api" / "openapi-v5.23.0.json"
    return path if path.exists() else None


@pytest.fixture
def fake():
    """Starts fake servers: fake("boards=3,pins=40,sections=2", "--latency-ms", "5")."""
    servers = []

    def start(seed="sample", *extra):
        s = FakeServer(seed, extra)
        servers.append(s)
        return s

    yield start
    try:
        for s in servers:
            if s.proc.poll() is not None:
                continue
            v = s.violations()
            if v.get("disabled"):
                sys.stderr.write("OpenAPI check skipped: the published description is absent\n")
            assert not v["violations"], "traffic the OpenAPI description does not allow: " + \
                json.dumps(v["violations"][:5], indent=1)
    finally:
        for s in servers:
            s.stop()


@pytest.fixture
def mount():
    """Mounts pinfs: mount(server, opts=("dir_cache_ttl=1",)). Unmounted at teardown."""
    mounts = []

    def start(server, opts=(), **kw):
        m = Mount(server, opts, **kw)
        mounts.append(m)
        return m

    yield start
    bad = []
    for m in mounts:
        m.unmount()
        bad += m.unexpected_log_lines()
        if m.crashed():
            # What the daemon said last says why (glibc's and libfuse's aborts print a line).
            tail = "\n".join(m.log().splitlines()[-20:])
            bad.append(f"pinfs died of {m.crashed()}; its log ends:\n{tail}")
    assert not bad, "pinfs logged:\n" + "\n".join(bad)


@pytest.fixture
def account(fake, mount):
    """A mounted sample account: (server, mount)."""
    server = fake("boards=4,pins=60,sections=3")
    return server, mount(server)
