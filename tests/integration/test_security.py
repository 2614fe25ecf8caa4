"""What pinfs guards: the token (logs, argv, environment, core files), TLS always verified and
plain http only on loopback, no URL scheme but https/http fetched, redirects included, names
from the server that cannot escape the mount, and allow_other only with default_permissions.
docs/security.md says what each test guarantees."""

import errno
import io
import json
import os
import re
import resource
import signal
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import PINFS, TOKEN, FakeServer
from naming import expected_tree, walk

SEED = "boards=2,pins=16,sections=1"
TEST_NET = "192.0.2.1"   # RFC 5737 documentation address: refused before any connection


def jpeg(color=(10, 120, 200), size=(48, 32)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def base_env(**extra):
    env = dict(os.environ, PINFS_ACCESS_TOKEN=TOKEN)
    env.update(extra)
    return env


def run_pinfs(api, tmp_path, opts=(), env=None, timeout=60):
    """pinfs in the foreground that is expected to refuse to mount: (CompletedProcess, mnt)."""
    mnt = Path(tempfile.mkdtemp(prefix="mnt-", dir=tmp_path))
    o = ",".join([f"api_url={api}", f"cache_dir={tmp_path}/cache", *opts])
    r = subprocess.run([str(PINFS), "-f", "-o", o, str(mnt)], capture_output=True, text=True,
                       env=env or base_env(), timeout=timeout)
    return r, mnt


def refused_in_one_line(r, mnt, phrase):
    assert r.returncode == 1, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and phrase in lines[0], r.stderr
    assert TOKEN not in r.stderr + r.stdout
    assert not os.path.ismount(mnt)


# ---- the token ----

def test_token_never_leaks_even_with_debug(fake, mount, tmp_path):
    server = fake(SEED)
    m = mount(server, args=("-d",))
    m.expect_log(r"HTTP 401|cannot list board|Authentication failed")
    boards = sorted(os.listdir(m.path("boards")))
    folder = m.path("boards", boards[0])
    image = next(n for n in sorted(os.listdir(folder)) if n.endswith((".jpg", ".png")))
    assert (folder / image).read_bytes()
    (folder / "upload.jpg").write_bytes(jpeg())
    sidecar = folder / "upload.json"
    doc = json.loads(sidecar.read_text())
    doc["description"] = "edited"
    sidecar.write_text(json.dumps(doc))
    server.admin("POST", "expire_token", {})
    with pytest.raises(PermissionError):
        os.listdir(m.path("boards", boards[1]))
    log = m.log()
    assert re.search(r"GET \S+/v5/boards", log) and re.search(r"POST \S+/v5/pins", log)
    assert TOKEN not in log
    assert TOKEN.encode() not in Path(f"/proc/{m.proc.pid}/cmdline").read_bytes()
    # The environment's copy is wiped once read: /proc/PID/environ no longer holds it.
    environ = Path(f"/proc/{m.proc.pid}/environ").read_bytes()
    assert b"PINFS_ACCESS_TOKEN=" in environ and TOKEN.encode() not in environ


def test_refused_token_message_does_not_show_it(fake, tmp_path):
    server = fake(SEED)
    server.admin("POST", "expire_token", {})
    r, mnt = run_pinfs(server.api, tmp_path)
    refused_in_one_line(r, mnt, "refused the access token")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o600 | 0o020])
def test_token_file_others_may_read_is_refused(fake, tmp_path, mode):
    server = fake(SEED)
    tok = tmp_path / "token.json"
    tok.write_text(json.dumps({"access_token": TOKEN}))
    tok.chmod(mode)
    env = {k: v for k, v in os.environ.items() if k != "PINFS_ACCESS_TOKEN"}
    r, mnt = run_pinfs(server.api, tmp_path, opts=(f"token_file={tok}",), env=env)
    refused_in_one_line(r, mnt, "chmod 600")


def core_file(pid):
    """Where the kernel writes pid's core (core_pattern "core": its working directory, which
    libfuse sets to /), and that file's identity now."""
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pattern.startswith("|") or "%" in pattern:
        return None, None
    path = Path(pattern) if pattern.startswith("/") else Path(os.readlink(f"/proc/{pid}/cwd")) / pattern
    try:
        st = path.stat()
        return path, (st.st_ino, st.st_mtime_ns)
    except FileNotFoundError:
        return path, None


def quit_mount(server, tmp_path, args):
    """Mounts with args, sends SIGQUIT (whose default action dumps core) and cleans up.
    Returns (core file written or None, whether the token is in it, ASan build)."""
    mnt = Path(tempfile.mkdtemp(prefix="mnt-", dir=tmp_path))
    o = f"api_url={server.api},cache_dir={tmp_path}/cache"
    log = open(tmp_path / "quit.log", "w")

    def unlimited_cores():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    p = subprocess.Popen([str(PINFS), "-f", *args, "-o", o, str(mnt)], env=base_env(),
                         stdout=log, stderr=subprocess.STDOUT, preexec_fn=unlimited_cores)
    core, was = None, None
    try:
        deadline = time.time() + 20
        while not os.path.ismount(mnt):
            assert p.poll() is None and time.time() < deadline, (tmp_path / "quit.log").read_text()
            time.sleep(0.02)
        os.listdir(mnt / "boards")
        asan = "libasan" in Path(f"/proc/{p.pid}/maps").read_text()
        core, was = core_file(p.pid)
        p.send_signal(signal.SIGQUIT)
        assert p.wait(60) == -signal.SIGQUIT
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        subprocess.run(["fusermount3", "-u", "-z", str(mnt)], capture_output=True)
        log.close()
    if core is None:
        return None, False, asan
    try:
        st = core.stat()
    except FileNotFoundError:
        return None, False, asan
    if (st.st_ino, st.st_mtime_ns) == was:
        return None, False, asan
    with_token = TOKEN.encode() in core.read_bytes()
    core.unlink()
    return core, with_token, asan


def test_no_core_file_unless_debug(fake, tmp_path):
    """pinfs makes itself non-dumpable (prctl PR_SET_DUMPABLE 0) unless -d: no core file can
    carry the token, and the user's other processes cannot ptrace it or read its memory."""
    server = fake(SEED)
    core, _, asan = quit_mount(server, tmp_path, ())
    assert core is None, f"a core file was written: {core}"
    # The control: with -d the same signal does leave a core, and the token is in it.
    if asan:
        pytest.skip("ASan builds never dump core (disable_coredump): no control")
    core, with_token, _ = quit_mount(server, tmp_path, ("-d",))
    if core is None:
        pytest.skip("this machine writes no core files (core_pattern, limits): no control")
    assert with_token


# ---- TLS: always verified, a private CA only through -o cafile ----

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(where, name):
    """A CA and a certificate it signed for 127.0.0.1 and localhost: (ca.pem, cert, key)."""
    where.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=where)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
            cwd=where)
    (where / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                   "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=where)
    return where / "ca.pem", where / "server.pem", where / "server.key"


class TlsServer(FakeServer):
    """The fake server over https with a certificate from a test CA."""

    def __init__(self, seed, cert, key, ca):
        self.context = ssl.create_default_context(cafile=str(ca))
        super().__init__(seed, ["--tls-cert", str(cert), "--tls-key", str(key)], scheme="https")


@pytest.fixture
def tls(tmp_path):
    ca, cert, key = make_ca(tmp_path / "ca", "pinfs test CA")
    other_ca, _, _ = make_ca(tmp_path / "other", "some other CA")
    server = TlsServer(SEED, cert, key, ca)
    yield server, ca, other_ca
    try:
        assert not server.violations()["violations"]
    finally:
        server.stop()


def test_tls_with_a_private_ca(tls, mount):
    server, ca, _ = tls
    assert server.api.startswith("https://")
    m = mount(server, opts=(f"cafile={ca}",))
    state = server.state()
    b = state["boards"][0]
    folder = m.path("boards", b["name"])
    names = sorted(os.listdir(folder))
    image = next(n for n in names if n.endswith((".jpg", ".png")))
    pin_id = json.loads((folder / (image.rsplit(".", 1)[0] + ".json")).read_text())["id"]
    pin = next(p for p in state["pins"] if p["id"] == pin_id)
    url = pin["media"]["images"]["originals"]["url"]
    assert url.startswith("https://")   # images come over TLS too, checked with the same CA
    assert (folder / image).read_bytes() == server.fetch(url)


def test_tls_without_the_ca_is_refused_in_one_line(tls, tmp_path):
    server, ca, other_ca = tls
    server.reset_counts()
    r, mnt = run_pinfs(server.api, tmp_path)
    refused_in_one_line(r, mnt, "TLS certificate")
    assert "cafile" in r.stderr
    r, mnt = run_pinfs(server.api, tmp_path, opts=(f"cafile={other_ca}",))
    refused_in_one_line(r, mnt, "TLS certificate")
    r, mnt = run_pinfs(server.api, tmp_path, opts=(f"cafile={tmp_path}/missing.pem",))
    refused_in_one_line(r, mnt, "missing.pem")
    # The handshake failed: no request ever reached the API.
    assert server.counts().get("GET /v5/user_account", 0) == 0


@pytest.mark.parametrize("api", [f"http://{TEST_NET}/v5", "http://127.example.com/v5",
                                 "ftp://127.0.0.1/v5", "file:///etc/passwd", "gopher://127.0.0.1/v5"])
def test_api_url_refused_before_any_connection(tmp_path, api):
    t0 = time.monotonic()
    r, mnt = run_pinfs(api, tmp_path)
    refused_in_one_line(r, mnt, "not an https URL")
    assert time.monotonic() - t0 < 5   # no connect timeout was waited for: nothing was tried


def test_plain_http_on_loopback_by_name(fake, mount):
    server = fake(SEED)
    server.api = server.api.replace("127.0.0.1", "localhost")
    m = mount(server)
    assert len(os.listdir(m.path("boards"))) == 2


# ---- image URLs: only https (http on loopback), redirects checked at every hop ----

def test_image_urls_of_other_schemes_are_never_fetched(fake, mount):
    server = fake("boards=1,pins=8,sections=0")
    pins = server.state()["pins"]
    real = pins[6]["media"]["images"]["originals"]["url"]
    redirect = server.base + "/redirect?to="
    hostile = {
        pins[0]["id"]: "file:///etc/passwd",
        pins[1]["id"]: "ftp://127.0.0.1/etc/passwd",
        pins[2]["id"]: "gopher://127.0.0.1:70/1",
        pins[3]["id"]: redirect + "file:///etc/passwd",
        pins[4]["id"]: redirect + f"http://{TEST_NET}/x.jpg",
        pins[5]["id"]: redirect + "ftp://127.0.0.1/x.jpg",
        pins[6]["id"]: redirect + real,   # a redirect to an allowed URL is followed
    }
    for pin_id, url in hostile.items():
        server.admin("POST", "pin_media", {"pin_id": pin_id, "url": url})
    m = mount(server)
    m.expect_log(r"refusing to fetch|refusing to follow|could not learn the size|"
                 r"download of .* failed")
    folder = m.path("boards", os.listdir(m.path("boards"))[0])
    images = {}
    for name in os.listdir(folder):
        if name.endswith(".json") and name != ".board.json":
            pin_id = json.loads((folder / name).read_text())["id"]
            stem = name[:-5]
            images[pin_id] = next(folder / n for n in os.listdir(folder)
                                  if n.startswith(stem + ".") and not n.endswith(".json"))
    subprocess.run(["ls", "-l", str(folder)], capture_output=True, check=True)
    server.reset_counts()
    for pin_id, url in hostile.items():
        t0 = time.monotonic()
        if pin_id == pins[6]["id"]:
            assert images[pin_id].read_bytes() == server.fetch(real)
            continue
        with pytest.raises(OSError) as e:
            images[pin_id].read_bytes()
        assert e.value.errno == errno.EIO, (url, e.value)
        assert time.monotonic() - t0 < 5, url
    log = m.log()
    assert "refusing to fetch file:///etc/passwd" in log
    assert f"to http://{TEST_NET}/x.jpg" in log
    # Of the hostile ones, only the redirects on this server were asked for, once each.
    counts = server.counts()
    assert counts.get("GET /redirect") == 4
    assert set(counts) <= {"GET /redirect", "GET /img"}


# ---- names from the server cannot escape the mount ----

HOSTILE_BOARDS = ["..", ".", "../escape", "a/b", ".board.json", "", "x" * 300,
                  "\x1b[31mred\x07", "nul\x00byte", "Twin", "Twin", "line\nbreak", "Pins here"]
HOSTILE_SECTIONS = ["..", ".board.json", "photo.jpg", "a/../b"]
HOSTILE_TITLES = ["..", ".", "../../etc/passwd", "/", ".board", ".board.json", "a\x00b",
                  "a\x00c", "\x07bell\x1b[0m", "\U0001F600" * 100, "tab\there\nnewline",
                  "photo", "..", "\x7f", "é" * 100, "CON", "/" * 100]


def cut_at_nul(state):
    """pinfs reads JSON strings as C strings: a title ends at its first NUL."""
    for obj in state["boards"] + state["pins"] + sum(state["sections"].values(), []):
        for key in ("name", "title"):
            if isinstance(obj.get(key), str):
                obj[key] = obj[key].split("\x00")[0]
    return state


def test_hostile_names_stay_inside_the_mount(fake, mount):
    server = fake("boards=1,pins=2,sections=0")
    boards = [server.admin("POST", "boards", {"name": n}) for n in HOSTILE_BOARDS]
    home = boards[-1]
    for n in HOSTILE_SECTIONS:
        server.admin("POST", "sections", {"board_id": home["id"], "name": n})
    sections = server.state()["sections"][home["id"]]
    for i, t in enumerate(HOSTILE_TITLES):
        section = sections[i % 2]["id"] if i in (2, 5, 8) else None
        server.admin("POST", "pins", {"board_id": home["id"], "title": t, "section_id": section,
                                      "description": t})
    m = mount(server)
    root = m.dir.resolve()
    state = server.state()
    got = walk(m.dir)
    assert set(got) == set(expected_tree(cut_at_nul(state)))
    for rel in got:
        name = os.path.basename(rel)
        assert name not in (".", "..") and "/" not in name
        assert len(name.encode("utf-8")) <= 255   # also: no undecodable bytes
        assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in name), repr(name)
        assert os.path.realpath(m.dir / rel).startswith(str(root) + "/")
    # One folder per board, one .board.json per board folder, and it is that board's.
    assert len(os.listdir(m.path("boards"))) == len(state["boards"])
    for b in os.listdir(m.path("boards")):
        folder = m.path("boards", b)
        assert [n for n in os.listdir(folder) if n == ".board.json"] == [".board.json"]
        board_id = json.loads((folder / ".board.json").read_text())["id"]
        sidecars = [json.loads((Path(top) / f).read_text())["id"]
                    for top, _, files in os.walk(folder) for f in files
                    if f.endswith(".json") and f != ".board.json"]
        want = sorted(p["id"] for p in state["pins"] if p["board_id"] == board_id)
        assert sorted(sidecars) == want
    assert all(".board.json" not in os.listdir(m.path("boards", home["name"], s))
               for s in os.listdir(m.path("boards", home["name"]))
               if os.path.isdir(m.path("boards", home["name"], s)))


# ---- allow_other only when asked, and then with default_permissions ----

def mount_options(where):
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if fields[1] == str(where):
            return set(fields[3].split(","))
    raise AssertionError(f"{where} is not in /proc/mounts")


def test_allow_other_brings_default_permissions(fake, mount):
    server = fake(SEED)
    plain = mount(server)
    opts = mount_options(plain.dir)
    assert "allow_other" not in opts and "default_permissions" not in opts
    shared = mount(server, opts=("allow_other",))
    opts = mount_options(shared.dir)
    assert {"allow_other", "default_permissions"} <= opts
    assert len(os.listdir(shared.path("boards"))) == 2


def test_a_user_name_cannot_add_mount_options(fake, mount):
    """The account's user name goes into -o fsname=pinfs:<name>: its commas must not split the
    option list, wherever the name says ",subtype" and however long it is."""
    server = fake(SEED)
    for name in ("x,subtype=y,allow_other", "a" * 230 + ",allow_other,default_permissions"):
        account = server.v5("GET", "/user_account")
        account["username"] = name
        server.fault(route="GET /v5/user_account", action="status", status=200, body=account)
        m = mount(server)
        opts = mount_options(m.dir)
        assert "allow_other" not in opts and "default_permissions" not in opts
        assert not any(o.startswith("subtype=y") for o in opts)
        m.unmount()
