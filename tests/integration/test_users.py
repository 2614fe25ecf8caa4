"""Ready for users: the command line, installing, mounting from fstab and systemd, logs, SIGHUP,
MOUNT/.pinfs/stats, file managers' probes, image sizes, and how the mount names itself."""

import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import PINFS, ROOT, TOKEN
from naming import best_image, expected_tree

IMAGE_SIZES = ["originals", "1200x", "600x", "400x300", "150x150"]
# Names file managers and other systems look for in every folder.
PROBES = [".Trash", ".Trash-0", ".Trash-1000", ".hidden", ".directory", ".xdg-volume-info",
          "desktop.ini", "autorun.inf", ".DS_Store", "._Lemon tart.jpg"]
ERRNOS = ["EMEDIUMTYPE", "ENAMETOOLONG", "EINVAL", "EPERM", "EXDEV", "ENOTEMPTY", "EEXIST",
          "ENOTSUP", "EACCES", "EAGAIN", "EIO"]
# A line of -o log_file: local time with milliseconds and zone, the process, the level.
STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} pinfs\[(\d+)\]: "
                     r"(error|warning|info|debug): ")

needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount.fuse3"),
                                reason="mount(8) with a FUSE helper needs root and fuse3")


def run(args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60, **kw)


def token_env(**extra):
    return dict(os.environ, PINFS_ACCESS_TOKEN=TOKEN, **extra)


def detached_env(where, **extra):
    """token_env for a pinfs that detaches: its stderr is gone then, so sanitizer reports (of
    an ASan+UBSan build) go to files beside where, which sanitizer_reports reads."""
    env = token_env(**extra)
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env[var] = ":".join(filter(None, [env.get(var), f"log_path={where}/sanitizer"]))
    return env


def sanitizer_reports(where):
    return [p.read_text(errors="replace") for p in Path(where).glob("sanitizer*")]


def jpeg():
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


def wait_for(cond, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (its parent has not reaped it yet) is gone as far as the mount goes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Detached:
    """A pinfs that detached (mounted by mount(8), mount.fuse3 or without -f): found by the
    process id in its log file, so the test stops that process and no other. Started with
    detached_env(log's folder)."""

    def __init__(self, mnt, log):
        self.mnt, self.log = Path(mnt), Path(log)

    def pid(self):
        for line in self.log.read_text(errors="replace").splitlines() if self.log.exists() else []:
            m = STAMPED.match(line)
            if m:
                return int(m.group(1))
        return None

    def bad_lines(self, expected=()):
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines()
                if re.search(r"\]: (error|warning): |Sanitizer|runtime error:", line)
                and not any(re.search(p, line) for p in expected)]

    def stop(self):
        pid = self.pid()
        if os.path.ismount(self.mnt):
            run(["fusermount3", "-u", self.mnt])
        if pid and not wait_for(lambda: not pid_alive(pid), 20):
            os.kill(pid, signal.SIGKILL)
        if os.path.ismount(self.mnt):
            run(["fusermount3", "-u", "-z", self.mnt])
        return pid


@pytest.fixture
def detached():
    """Registers detached mounts; teardown unmounts them and checks their logs."""
    made = []
    yield made.append
    bad = []
    for d in made:
        d.stop()
        bad += d.bad_lines() + sanitizer_reports(d.log.parent)
    assert not bad, "pinfs logged:\n" + "\n".join(bad)


# ---- the command line ----

def test_help_is_short_and_lists_every_option():
    for flag in ("--help", "-h"):
        r = run([PINFS, flag])
        assert r.returncode == 0 and r.stderr == ""
        lines = r.stdout.replace(str(PINFS), "pinfs").splitlines()
        assert len(lines) <= 40 and max(len(line) for line in lines) <= 100
        for word in ("MOUNTPOINT", "SOURCE", "login", "-f", "-d", "-s", "-v", "-V", "--version",
                     "debug", "verbose", "-o ro", "api_url=", "token_file=", "cache_dir=",
                     "image_size=", "dir_cache_ttl=", "max_rps=", "log_file=", "allow_other",
                     "PINFS_ACCESS_TOKEN", ".pinfs/stats", "HUP", "man pinfs"):
            assert word in r.stdout, word
        for key in IMAGE_SIZES:
            assert key in r.stdout
        assert "subdir" not in r.stdout and "iconv" not in r.stdout  # FUSE's modules: noise


def test_version_is_the_project_version():
    version = re.search(r"version\s*:\s*'([^']+)'", (ROOT / "meson.build").read_text()).group(1)
    for flag in ("--version", "-V"):
        r = run([PINFS, flag])
        assert r.returncode == 0 and r.stdout == f"pinfs {version}\n"


@pytest.mark.parametrize("args, says", [
    (["--bogus"], "--bogus"),
    (["-x"], "-x"),
    (["-o", "bogus"], "bogus"),
    (["-o", "ro,no_such_option=1"], "no_such_option"),
    (["-o", "image_size=huge"], "image_size=huge"),
    (["-o", "dir_cache_ttl=-1"], "negative"),
    (["one", "two"], "too many arguments"),
    (["not a word!"], "not a source"),
])
def test_bad_arguments_fail_at_once(fake, tmp_path, args, says):
    server = fake("boards=1,pins=1,sections=0")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run([PINFS, "-f", "-o", f"api_url={server.api},cache_dir={tmp_path}/c", *args, mnt],
            env=token_env())
    assert r.returncode == 1, r.stderr
    assert says in r.stderr and r.stdout == ""
    assert not os.path.ismount(mnt)
    assert server.counts() == {}, "refused before any request"


def test_no_mount_point_fails():
    r = run([PINFS])
    assert r.returncode == 1 and "no mount point" in r.stderr


def test_fstab_options_and_a_source_word_are_accepted(fake, mount):
    server = fake("sample")
    for source in ("pinfs", "default", "pinfs#default", "/usr/local/bin/pinfs"):
        m = mount(server, opts=("noauto", "user", "_netdev", "nofail", "defaults", "users",
                                "x-gvfs-show", "x-systemd.automount", "comment=mine"),
                  args=(source,))
        assert json.loads(m.path("me.json").read_text())["username"] == "demo_pinner"
        m.unmount()


def test_a_source_word_names_the_token_file(fake, mount, tmp_path):
    server = fake("sample")
    conf = tmp_path / "conf"
    (conf / "pinfs").mkdir(parents=True)
    tok = conf / "pinfs" / "work.json"
    tok.write_text(json.dumps({"access_token": TOKEN}))
    tok.chmod(0o600)
    env = {"PINFS_ACCESS_TOKEN": "", "XDG_CONFIG_HOME": str(conf)}
    for source in ("work", "pinfs#work"):
        m = mount(server, args=(source,), env=env)
        assert os.path.exists(m.path("me.json"))
        m.unmount()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run([PINFS, "-f", "-o", f"api_url={server.api}", "home", mnt],
            env=dict(os.environ, **env))
    assert r.returncode == 1 and str(conf / "pinfs" / "home.json") in r.stderr


# ---- installing ----

class Installed:
    def __init__(self, dest, prefix):
        self.dest, self.prefix = Path(dest), Path(prefix)

    def path(self, rel):
        """Where prefix/rel was staged."""
        return self.dest / (self.prefix / rel).relative_to("/")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`meson install --destdir` of the build that made PINFS_BIN."""
    build = PINFS.parent
    if not (build / "meson-private").is_dir() or not shutil.which("meson"):
        pytest.skip("PINFS_BIN is not in a meson build directory")
    dest = tmp_path_factory.mktemp("destdir")
    r = run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest])
    assert r.returncode == 0, r.stdout + r.stderr
    opts = json.loads(run(["meson", "introspect", "--buildoptions", build]).stdout)
    prefix = next(o["value"] for o in opts if o["name"] == "prefix")
    return Installed(dest, prefix)


def test_meson_install_puts_each_file_in_place(installed):
    exe = installed.path("bin/pinfs")
    assert os.access(exe, os.X_OK)
    assert run([exe, "--version"]).stdout.startswith("pinfs ")
    assert installed.path("share/man/man1/pinfs.1").is_file()
    unit = installed.path("lib/systemd/user/pinfs@.service").read_text()
    assert "@" + "BINDIR@" not in unit and "@" + "FUSERMOUNT@" not in unit
    assert f"ExecStart={installed.prefix}/bin/pinfs -f " in unit
    assert re.search(r"^ExecStop=\S*fusermount3 -u %f$", unit, re.M)
    assert re.search(r"^Type=simple$", unit, re.M)
    assert re.search(r"^WantedBy=default.target$", unit, re.M)


def test_man_page_covers_every_option_the_folders_and_the_errors(installed):
    page_file = installed.path("share/man/man1/pinfs.1")
    page = page_file.read_text().replace("\\-", "-")
    helptext = run([PINFS, "--help"]).stdout
    options = set(re.findall(r"-o ([a-z_]+)", helptext))
    options |= set(re.findall(r"(?<![\w-])(--?[a-zA-Z][a-z-]*)", helptext))
    assert {"api_url", "image_size", "log_file", "-f", "-d", "--help"} <= options
    for opt in options:
        assert opt in page, opt
    for errno_name in ERRNOS:
        assert errno_name in page, errno_name
    for where in ("me.json", "boards/", "pins/", "search/pins/", "search/boards/", "followers/",
                  "following/users/", "following/boards/", "following/interests/",
                  ".pinfs/stats", "fuse.pinfs", "pinfs@.service", "SIGHUP", "EXAMPLES"):
        assert where in page, where
    if shutil.which("groff"):
        r = run(["groff", "-man", "-Tutf8", "-ww", "-z", page_file])
        assert r.returncode == 0 and r.stderr == "", r.stderr


# ---- mounting through mount(8), mount.fuse3, fstab and systemd ----

def helper_opts(server, tmp_path, log):
    return (f"noauto,user,_netdev,api_url={server.api},cache_dir={tmp_path}/cache,"
            f"log_file={log},verbose")


def check_detached_mount(mnt, username="demo_pinner"):
    assert wait_for(lambda: os.path.ismount(mnt))
    line = next(line for line in Path("/proc/mounts").read_text().splitlines()
                if line.split()[1] == str(mnt))
    assert line.split()[:3] == [f"pinfs:{username}", str(mnt), "fuse.pinfs"]
    assert json.loads((mnt / "me.json").read_text())["username"] == username
    assert len(os.listdir(mnt / "boards")) == 3


@needs_root
def test_mount_with_the_old_fuse_type(fake, tmp_path, detached):
    """fstab's `pinfs#default MOUNTPOINT fuse ...`, through mount(8) and mount.fuse3."""
    server = fake("sample")
    mnt, log = tmp_path / "mnt", tmp_path / "pinfs.log"
    mnt.mkdir()
    r = run(["mount", "-t", "fuse", "-o", helper_opts(server, tmp_path, log),
             f"{PINFS}#default", mnt], env=detached_env(tmp_path))
    d = Detached(mnt, log)
    detached(d)
    assert r.returncode == 0, r.stderr
    check_detached_mount(mnt)
    assert run(["umount", mnt]).returncode == 0
    pid = d.pid()
    assert pid and wait_for(lambda: not pid_alive(pid), 20), "pinfs ends once unmounted"


@needs_root
def test_mount_through_the_fuse3_helper(fake, tmp_path, detached):
    """What mount(8) runs for the type fuse.pinfs: mount.fuse3 SOURCE MOUNTPOINT -t fuse.pinfs
    -o OPTIONS, which runs `pinfs SOURCE MOUNTPOINT -o OPTIONS` found on PATH."""
    server = fake("sample")
    mnt, log = tmp_path / "mnt", tmp_path / "pinfs.log"
    mnt.mkdir()
    env = detached_env(tmp_path, PATH=f"{PINFS.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    r = run(["mount.fuse3", "pinfs", mnt, "-t", "fuse.pinfs", "-o",
             helper_opts(server, tmp_path, log)], env=env)
    d = Detached(mnt, log)
    detached(d)
    assert r.returncode == 0, r.stderr
    check_detached_mount(mnt)
    d.stop()
    assert not os.path.ismount(mnt)


@needs_root
@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare(1)")
def test_mount_from_an_fstab_line(fake, tmp_path):
    """`mount MOUNTPOINT` with the fstab line docs/install.md shows. mount(8) clears PATH, so
    pinfs must be in /usr/local/bin: a private mount namespace puts it there for this test
    only, and everything that needs the mount runs inside it."""
    server = fake("sample")
    mnt, log, out = tmp_path / "mnt", tmp_path / "pinfs.log", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    fstab = tmp_path / "fstab"
    fstab.write_text(f"pinfs  {mnt}  fuse.pinfs  {helper_opts(server, tmp_path, log)}  0  0\n")
    script = """
        set -e
        mount -t tmpfs pinfs-test-bin /usr/local/bin
        ln -s "$PINFS" /usr/local/bin/pinfs
        trap 'umount "$MNT" 2>/dev/null || true' EXIT
        mount -T "$FSTAB" "$MNT"
        grep " $MNT " /proc/mounts > "$OUT/mounts"
        ls "$MNT/boards" > "$OUT/boards"
        cat "$MNT/me.json" > "$OUT/me.json"
        umount "$MNT"
    """
    env = detached_env(tmp_path, PINFS=str(PINFS), MNT=str(mnt), FSTAB=str(fstab), OUT=str(out))
    # Run where a file is named like the source: mount(8) then passes its full path instead.
    r = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], env=env,
            cwd=PINFS.parent)
    d = Detached(mnt, log)
    pid = d.pid()
    assert pid is None or wait_for(lambda: not pid_alive(pid), 20)
    assert r.returncode == 0, r.stderr
    assert (out / "mounts").read_text().split()[:3] == ["pinfs:demo_pinner", str(mnt), "fuse.pinfs"]
    assert len((out / "boards").read_text().splitlines()) == 3
    assert json.loads((out / "me.json").read_text())["username"] == "demo_pinner"
    assert not d.bad_lines()
    assert not sanitizer_reports(tmp_path)


def unit_sections(text):
    """{key: [values]} of a unit file (sections flattened: the keys do not repeat across)."""
    keys = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            keys.setdefault(key, []).append(value)
    return keys


def test_systemd_unit_mounts_and_unmounts(fake, installed, tmp_path):
    """Runs the unit's commands the way systemd would, with its specifiers expanded."""
    server = fake("sample")
    unit_file = installed.path("lib/systemd/user/pinfs@.service")
    text = unit_file.read_text()
    mnt = tmp_path / "Pinterest"  # not made: the unit makes it
    escape = shutil.which("systemd-escape")
    instance = (run([escape, "--path", mnt]).stdout.strip() if escape
                else str(mnt).strip("/").replace("-", "\\x2d").replace("/", "-"))
    conf = tmp_path / "config"
    (conf / "pinfs").mkdir(parents=True)
    (conf / "pinfs" / f"{instance}.env").write_text(
        f"PINFS_OPTIONS=-v -o api_url={server.api} -o cache_dir={tmp_path}/cache\n")
    exe = str(installed.prefix / "bin" / "pinfs")

    if shutil.which("systemd-analyze"):
        # A copy that names the staged binary, under an instance name, for systemd's checks.
        staged = tmp_path / f"pinfs@{instance}.service"
        staged.write_text(text.replace(exe, str(installed.path("bin/pinfs"))))
        r = run(["systemd-analyze", "verify", "--man=no", staged])
        assert r.returncode == 0, r.stderr

    keys = unit_sections(text)
    env_file = keys["EnvironmentFile"][0].lstrip("-").replace("%E", str(conf)).replace(
        "%i", instance)
    options = Path(env_file).read_text().strip().split("=", 1)[1]

    def command(line, mainpid=None):
        ignore = line.startswith("-")
        words = []
        for w in shlex.split(line.lstrip("-")):
            if w == "$PINFS_OPTIONS":
                words += options.split()
                continue
            w = w.replace("%f", str(mnt)).replace("%i", instance).replace("$MAINPID", str(mainpid))
            words.append(str(installed.path("bin/pinfs")) if w == exe else w)
        return words, ignore

    for line in keys["ExecStartPre"]:
        words, ignore = command(line)
        r = run(words)
        assert ignore or r.returncode == 0, r.stderr
    words, _ = command(keys["ExecStart"][0])
    assert "-f" in words
    log = open(tmp_path / "service.log", "w")
    proc = subprocess.Popen(words, stdout=log, stderr=subprocess.STDOUT, env=token_env())
    try:
        assert wait_for(lambda: os.path.ismount(mnt) or proc.poll() is not None, 20)
        assert os.path.ismount(mnt), (tmp_path / "service.log").read_text()
        assert len(os.listdir(mnt / "boards")) == 3
        words, _ = command(keys["ExecReload"][0], proc.pid)
        assert run(words).returncode == 0
        assert wait_for(lambda: "SIGHUP" in (tmp_path / "service.log").read_text())
        assert os.path.ismount(mnt) and proc.poll() is None
        words, _ = command(keys["ExecStop"][0])
        assert run(words).returncode == 0
        assert proc.wait(20) == 0
        assert not os.path.ismount(mnt)
    finally:
        if proc.poll() is None:
            run(["fusermount3", "-u", "-z", mnt])
            proc.kill()
            proc.wait()
        log.close()
    assert not re.search(r"pinfs: (error|warning):|Sanitizer|runtime error:",
                         (tmp_path / "service.log").read_text())


# ---- logs ----

def test_verbose_logs_to_stderr_in_the_foreground(fake, mount):
    server = fake("sample")
    for flag in ("-v", "verbose"):
        m = (mount(server, args=(flag,)) if flag.startswith("-")
             else mount(server, opts=(flag,)))
        assert wait_for(lambda: f"pinfs: info: mounted on {m.dir}" in m.log())
        m.unmount()


def test_log_file_gets_timestamped_lines(fake, mount, tmp_path):
    server = fake("sample")
    log = tmp_path / "logs" / "pinfs.log"
    log.parent.mkdir()
    m = mount(server, opts=(f"log_file={log}", "verbose"))
    assert wait_for(lambda: log.exists() and "mounted on" in log.read_text())
    assert log.stat().st_mode & 0o777 == 0o600
    os.kill(m.proc.pid, signal.SIGHUP)
    assert wait_for(lambda: "SIGHUP" in log.read_text())
    m.unmount()
    lines = log.read_text().splitlines()
    assert all(STAMPED.match(line) for line in lines), lines
    assert {int(STAMPED.match(line).group(1)) for line in lines} == {m.proc.pid}
    assert "info:" not in m.log(), "with a log file, stderr gets no info line"
    # Appended, never truncated: a second mount adds its lines after the first one's.
    m2 = mount(server, opts=(f"log_file={log}", "verbose"))
    assert wait_for(lambda: len(log.read_text().splitlines()) > len(lines))
    m2.unmount()
    assert log.read_text().splitlines()[:len(lines)] == lines


@pytest.mark.parametrize("args", [("-d",), ("-o", "debug")])
def test_debug_traces_http_and_never_a_token(fake, mount, args):
    server = fake("sample")
    m = mount(server, args=args)
    want = expected_tree(server.state())
    image = next(p for p, (k, _) in want.items() if k == "image")
    (m.dir / image).read_bytes()
    m.unmount()
    log = m.log()
    assert re.search(r"pinfs: debug: GET http://127\.0\.0\.1:\d+/v5/user_account -> 200", log)
    assert re.search(r"pinfs: debug: GET http://127\.0\.0\.1:\d+/v5/boards\S* -> 200", log)
    assert re.search(r"pinfs: debug: GET http://127\.0\.0\.1:\d+/img/\S+ -> 200", log)
    assert re.search(r"(LOOKUP|GETATTR|READDIR)", log), "FUSE's own tracing"
    assert TOKEN not in log and "Bearer" not in log


def test_detached_mount_logs_to_its_log_file(fake, tmp_path, detached):
    server = fake("sample")
    mnt, log = tmp_path / "mnt", tmp_path / "pinfs.log"
    mnt.mkdir()
    r = run([PINFS, "-o", f"api_url={server.api},cache_dir={tmp_path}/c,log_file={log},verbose",
             mnt], env=detached_env(tmp_path))
    d = Detached(mnt, log)
    detached(d)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    check_detached_mount(mnt)
    pid = d.stop()
    assert pid and not pid_alive(pid)
    assert "mounted on" in log.read_text()


@needs_root
@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare(1)")
def test_detached_mount_logs_to_syslog(fake, tmp_path):
    """Without -f and log_file, lines go to syslog: /dev/log is, in a private mount namespace,
    a socket of this test's."""
    server = fake("sample")
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "log.sock"))
    script = """
        set -e
        mkdir "$W/dev"
        mount --rbind /dev "$W/dev"
        mount -t tmpfs pinfs-test-dev /dev
        for n in null zero full random urandom fuse; do
            touch "/dev/$n"
            mount --bind "$W/dev/$n" "/dev/$n"
        done
        touch /dev/log
        mount --bind "$W/log.sock" /dev/log
        trap 'umount "$MNT" 2>/dev/null || true' EXIT
        "$PINFS" -o "api_url=$API,cache_dir=$W/cache,verbose" "$MNT"
        ls "$MNT/boards" > "$OUT/boards"
        umount "$MNT"
    """
    env = detached_env(tmp_path, PINFS=str(PINFS), MNT=str(mnt), OUT=str(out), W=str(tmp_path),
                       API=server.api)
    try:
        r = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], env=env)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert len((out / "boards").read_text().splitlines()) == 3
        sock.settimeout(5)
        first = sock.recv(4096).decode()
    finally:
        sock.close()
    # <14>: facility user, level info.
    line = re.match(r"<14>.* pinfs\[(\d+)\]: mounted on " + re.escape(str(mnt)), first)
    assert line, first
    assert wait_for(lambda: not pid_alive(int(line.group(1))), 20), "pinfs ends once unmounted"
    assert not sanitizer_reports(tmp_path)


# ---- SIGHUP ----

def test_sighup_forgets_listings_and_keeps_the_mount(fake, mount):
    server = fake("sample")
    m = mount(server, opts=("dir_cache_ttl=3600", "verbose"))
    boards = set(os.listdir(m.path("boards")))
    state = server.state()
    following = {p["username"] for p in state["following"]}
    newcomer = next(p["username"] for p in state["followers"] if p["username"] not in following)
    before = set(os.listdir(m.path("following", "users")))
    # Changes made elsewhere: a board, a followed user.
    server.v5("POST", "/boards", {"name": "Made elsewhere"})
    server.v5("POST", f"/user_account/following/{newcomer}", {})
    time.sleep(1.2)  # past the kernel's own 1 s
    assert set(os.listdir(m.path("boards"))) == boards, "trusted for the TTL"
    assert set(os.listdir(m.path("following", "users"))) == before
    server.reset_counts()
    os.kill(m.proc.pid, signal.SIGHUP)
    assert wait_for(lambda: "Made elsewhere" in os.listdir(m.path("boards")), 5)
    assert f"{newcomer}.json" in os.listdir(m.path("following", "users"))
    assert m.proc.poll() is None and os.path.ismount(m.dir)
    assert server.counts().get("GET /v5/boards", 0) >= 1
    assert "SIGHUP" in m.log()


# ---- MOUNT/.pinfs/stats ----

def stats_route(route):
    """The fake server's name of a route ("GET /v5/boards/{board_id}/pins", "HEAD /img") as
    .pinfs/stats says it ("GET /boards/{id}/pins", "HEAD image")."""
    method, path = route.split(" ", 1)
    if path.startswith(("/img", "/vid")):  # images and videos alike: not the API
        return f"{method} image"
    path = re.sub(r"\{(?!username\})[a-z_]+\}", "{id}", path[len("/v5"):]) or "/"
    return f"{method} {path}"


def test_stats_count_what_the_server_saw(fake, mount):
    server = fake("boards=3,pins=30,sections=1")
    m = mount(server)
    top = set(os.listdir(m.dir))
    assert ".pinfs" in top and os.listdir(m.path(".pinfs")) == ["stats"]
    st = os.stat(m.path(".pinfs", "stats"))
    assert st.st_mode & 0o777 == 0o400  # the owner's alone (docs/security.md)
    with pytest.raises(PermissionError):
        open(m.path(".pinfs", "stats"), "w")
    for change in (lambda: os.unlink(m.path(".pinfs", "stats")),
                   lambda: os.mkdir(m.path(".pinfs", "more")),
                   lambda: os.rename(m.path(".pinfs", "stats"), m.path(".pinfs", "old")),
                   lambda: open(m.path(".pinfs", "new"), "w")):
        with pytest.raises(PermissionError):
            change()

    # A session: listings and sizes, three images read twice, an upload answered 429 once
    # (so retried after a wait), and a file refused before any request.
    subprocess.run(["ls", "-lR", str(m.path("boards"))], check=True, capture_output=True)
    want = expected_tree(server.state(images=True))
    images = sorted(p for p, (k, _) in want.items() if k == "image")[:3]
    sizes = 0
    for _ in range(2):
        for p in images:
            sizes += len((m.dir / p).read_bytes())
    board = next(p for p, (k, _) in want.items() if k == "dir" and p.count("/") == 1)
    server.fault(route="POST /v5/pins", action="status", status=429,
                 headers={"Retry-After": "0"})
    (m.dir / board / "Uploaded here.jpg").write_bytes(jpeg())
    m.expect_log(r"not uploaded|not JPEG or PNG")
    with pytest.raises(OSError):
        (m.dir / board / "Not a picture.jpg").write_text("hello")

    stats = json.loads(m.path(".pinfs", "stats").read_text())
    seen = server.counts()
    by_route = {}
    for r, n in seen.items():
        by_route[stats_route(r)] = by_route.get(stats_route(r), 0) + n
    assert stats["requests"]["by_route"] == by_route
    assert stats["requests"]["total"] == sum(seen.values())
    assert stats["retries"] == 1
    assert stats["rate_limit"]["waits"] == 1
    assert stats["uploads"] == {"done": 1, "failed": 1}
    assert stats["image_cache"]["misses"] == 3
    assert stats["image_cache"]["downloaded_bytes"] == sizes // 2
    assert stats["image_cache"]["hits"] == 3
    assert stats["image_cache"]["hit_bytes"] == sizes // 2
    assert stats["uptime_seconds"] >= 0
    # Reading the stats costs nothing.
    again = json.loads(m.path(".pinfs", "stats").read_text())
    assert again["requests"] == stats["requests"] and server.counts() == seen


# ---- file managers ----

def test_file_manager_probes_send_nothing(fake, mount):
    server = fake("boards=3,pins=30,sections=1")
    m = mount(server)
    boards = sorted(os.listdir(m.path("boards")))  # the boards, none of their pins
    server.reset_counts()
    folders = [m.dir, m.path("boards"), m.path("search", "pins"), m.path("search", "boards"),
               *[m.path("boards", b) for b in boards]]
    for folder in folders:
        for name in PROBES:
            with pytest.raises(FileNotFoundError):
                os.stat(folder / name)
    assert server.counts() == {}, "no listing of a cold board, no search, no request at all"

    # A file of the user's own by such a name is still theirs (a local scratch file).
    own = m.path("boards", boards[0], ".hidden")
    own.write_text("mine\n")
    assert own.read_text() == "mine\n" and ".hidden" in os.listdir(own.parent)
    own.unlink()
    assert not own.exists()


def test_thumbnails_come_from_the_image_cache(account):
    server, m = account
    want = expected_tree(server.state())
    images = [p for p, (k, _) in want.items() if k == "image"][:5]
    first = [(m.dir / p).read_bytes() for p in images]
    # Python's open stats the file, which starts its folder's size sweep in the background:
    # ls -l waits for every size, so the sweep is over before counting starts.
    for folder in {(m.dir / p).parent for p in images}:
        subprocess.run(["ls", "-l", str(folder)], capture_output=True, check=True)
    server.reset_counts()
    assert [(m.dir / p).read_bytes() for p in images] == first
    assert server.counts() == {}


def test_fs_name_type_and_df(account):
    server, m = account
    line = next(line for line in Path("/proc/mounts").read_text().splitlines()
                if line.split()[1] == str(m.dir))
    username = server.state()["user"]["username"]
    assert line.split()[:3] == [f"pinfs:{username}", str(m.dir), "fuse.pinfs"]
    os.listdir(m.path("boards"))
    st = os.statvfs(m.dir)
    assert st.f_files - st.f_ffree == sum(b["pin_count"] for b in server.state()["boards"])


@pytest.mark.parametrize("key", IMAGE_SIZES)
def test_each_image_size_serves_its_bytes(fake, mount, key):
    server = fake("boards=2,pins=8,sections=1")
    m = mount(server, opts=(f"image_size={key}",))
    want = expected_tree(server.state(), prefer=key)
    images = [(p, pin) for p, (k, pin) in want.items() if k == "image"]
    assert images
    for path, pin in images:
        url = best_image(pin, key)["url"]
        assert f"/{key}/" in url, "the fake offers every size"
        data = (m.dir / path).read_bytes()
        assert data == server.fetch(url), path
        assert os.stat(m.dir / path).st_size == len(data)
    st = os.statvfs(m.dir)
    assert st.f_files - st.f_ffree == sum(b["pin_count"] for b in server.state()["boards"])
