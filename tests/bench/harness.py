"""Processes of the benchmark: the fake Pinterest server, pinfs mounts, timed commands.

Everything started here is registered, and `cleanup()` unmounts and stops all of it: the
benchmark calls it from a `finally`, at exit and on SIGINT/SIGTERM, so no mount or server is
left behind whatever happens. `leftovers()` says whether any mount of ours is still there.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests" / "fake_pinterest" / "server.py"
PYTHON = "/usr/bin/python3"
TOKEN = "bench-token-0123456789abcdef"
WORKDIR_PREFIX = "pinfs-bench-"

_servers = []
_mounts = []
_workdir = None


def workdir():
    """One scratch folder for this run (mount points, caches, logs, copies)."""
    global _workdir
    if _workdir is None:
        _workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    return _workdir


def scratch(name):
    path = workdir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


class FakeServer:
    """tests/fake_pinterest/server.py on a free port, with its admin routes."""

    def __init__(self, seed, latency_ms=0, image_scale=1.0, extra=(), name="server"):
        self.logpath = workdir() / f"{name}.log"
        self.log = open(self.logpath, "w")
        env = dict(os.environ)
        # The OpenAPI checker runs in a second process on every API answer: on a 2-core
        # machine it would compete with pinfs for CPU, so the benchmark turns it off.
        env["PINFS_OPENAPI"] = str(workdir() / "no-openapi-checks.json")
        cmd = [PYTHON, str(SERVER), "--port", "0", "--token", TOKEN, "--seed", seed,
               "--latency-ms", str(latency_ms), "--image-scale", str(image_scale), *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=env)
        _servers.append(self)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"fake server did not start: {line!r}; see {self.logpath}")
        self.api = line
        self.base = line[: -len("/v5")]

    def _call(self, url, method="GET", body=None, headers=None, timeout=120):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read()
        return json.loads(text) if text else None

    def admin(self, method, route, body=None):
        return self._call(self.base + "/_fake/" + route, method, body)

    def v5(self, method, path, body=None):
        return self._call(self.api + path, method, body, {"Authorization": f"Bearer {TOKEN}"})

    def counts(self):
        return self.admin("GET", "counts")["counts"]

    def requests(self):
        return self.admin("GET", "requests")["requests"]

    def reset(self):
        self.admin("POST", "counts/reset", {})

    def set_latency(self, ms):
        self.admin("POST", "latency", {"ms": ms})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self in _servers:
            _servers.remove(self)


class MountError(RuntimeError):
    pass


class Mount:
    """build/pinfs (or $PINFS_BIN) mounted in the foreground."""

    def __init__(self, server, pinfs, cache_dir, opts=(), name="mnt"):
        self.server = server
        self.dir = Path(tempfile.mkdtemp(prefix=name + "-", dir=workdir()))
        self.cache_dir = Path(cache_dir)
        self.logpath = workdir() / f"{self.dir.name}.log"
        self.log = open(self.logpath, "w")
        o = ",".join([f"api_url={server.api}", f"cache_dir={self.cache_dir}", *opts])
        env = dict(os.environ, PINFS_ACCESS_TOKEN=TOKEN)
        self.proc = subprocess.Popen([str(pinfs), "-f", "-o", o, str(self.dir)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.wait_mounted("pinfs")

    def wait_mounted(self, what):
        """Registers the mount for cleanup() and waits for it, or unmounts and raises."""
        _mounts.append(self)
        self.exit_status = None
        deadline = time.monotonic() + 30
        while not os.path.ismount(self.dir):
            if self.proc.poll() is not None:
                self.unmount()
                raise MountError(f"{what} exited with {self.proc.returncode}; see {self.logpath}")
            if time.monotonic() > deadline:
                self.unmount()
                raise MountError(f"{what} did not mount in 30 s; see {self.logpath}")
            time.sleep(0.001)  # the mount is seen within 1 ms: item 1 times it

    def path(self, *parts):
        return self.dir.joinpath(*parts)

    def alive(self):
        return self.proc.poll() is None and os.path.ismount(self.dir)

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def unmount(self):
        """Unmounts and waits for pinfs; returns its exit status (negative: a signal)."""
        if os.path.ismount(self.dir):
            r = subprocess.run(["fusermount3", "-u", str(self.dir)], capture_output=True)
            if r.returncode != 0:
                time.sleep(0.5)   # a command may still hold the mount; try once more, then lazily
                r = subprocess.run(["fusermount3", "-u", str(self.dir)], capture_output=True)
                if r.returncode != 0:
                    subprocess.run(["fusermount3", "-u", "-z", str(self.dir)], capture_output=True)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if self in _mounts:
            _mounts.remove(self)
            if not os.path.ismount(self.dir):
                shutil.rmtree(self.dir, ignore_errors=True)
        self.exit_status = self.proc.returncode
        return self.exit_status


class FloorMount(Mount):
    """tests/bench/fusefloor serving a copy of src from memory: the least a FUSE file system
    costs (tests/bench/fusefloor.c)."""

    def __init__(self, program, src, name="floor"):
        self.server = None
        self.dir = Path(tempfile.mkdtemp(prefix=name + "-", dir=workdir()))
        self.cache_dir = None
        self.logpath = workdir() / f"{self.dir.name}.log"
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen([str(program), str(src), str(self.dir)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_mounted("fusefloor")


def cleanup():
    """Unmounts every mount and stops every server still registered."""
    for m in list(_mounts):
        try:
            m.unmount()
        except Exception as exc:  # keep going: the others must go too
            sys.stderr.write(f"bench: unmounting {m.dir}: {exc}\n")
    for s in list(_servers):
        try:
            s.stop()
        except Exception as exc:
            sys.stderr.write(f"bench: stopping the fake server: {exc}\n")


def leftovers():
    """Mount points of ours still in /proc/mounts."""
    found = []
    with open("/proc/mounts") as f:
        for line in f:
            point = line.split()[1].replace("\\040", " ")
            if _workdir is not None and point.startswith(str(_workdir)):
                found.append(point)
    return found


def remove_workdir(keep=False):
    if _workdir is not None and not keep and not leftovers():
        shutil.rmtree(_workdir, ignore_errors=True)


def install_signal_handlers():
    """SIGINT (even when inherited as ignored), SIGTERM and SIGHUP become KeyboardInterrupt, so
    `finally` blocks clean up."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


class Timed:
    """The outcome of one timed command."""

    def __init__(self, seconds, returncode, stdout=b"", stderr=b""):
        self.seconds, self.returncode, self.stdout, self.stderr = seconds, returncode, stdout, stderr

    @property
    def ok(self):
        return self.returncode == 0


def run(argv, cwd=None, timeout=1800, stdin=None):
    """Runs argv (no shell: its start-up would blur short timings) and times it."""
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, input=stdin)
    return Timed(time.perf_counter() - t0, p.returncode, p.stdout, p.stderr)


def run_pipe(first, second, timeout=1800):
    """Times `first | second`, both started directly."""
    t0 = time.perf_counter()
    a = subprocess.Popen(first, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    b = subprocess.Popen(second, stdin=a.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    a.stdout.close()
    try:
        out, err_b = b.communicate(timeout=timeout)
        err_a = a.stderr.read()
        a.wait(timeout)
    except subprocess.TimeoutExpired:
        a.kill()
        b.kill()
        a.wait()
        b.wait()
        raise
    a.stderr.close()
    rc = a.returncode or b.returncode
    return Timed(time.perf_counter() - t0, rc, out, err_a + err_b)
