"""`pinfs login` against the fake server, and the token's life in a mount: refresh, rotation, refusal.

The test plays the browser: it reads the authorize address pinfs prints, asks the fake server's
authorize page for it without following the redirect, and brings the redirect back either on
pinfs's stdin (--no-browser) or to pinfs's listener.
"""

import base64
import json
import os
import pty
import select
import socket
import stat
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import BAD_LOG, PINFS

SECRET = "fake-secret"
CLIENT = "fake-client"
FIELDS = {"access_token", "refresh_token", "expires_at", "refresh_token_expires_at", "scope",
          "client_id", "client_secret", "api_url"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def authorize(url):
    """What the fake authorize page redirects the browser to (its Location)."""
    try:
        urllib.request.build_opener(NoRedirect).open(url, timeout=30)
    except urllib.error.HTTPError as e:
        assert e.code == 302, e.code
        return e.headers["Location"]
    raise AssertionError("the authorize page did not redirect")


def get(url):
    """(status, body) of a plain GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def with_query(url, **changes):
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(changes)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login_env(secret=SECRET, **extra):
    env = dict(os.environ, PINFS_CLIENT_ID=CLIENT, PINFS_CLIENT_SECRET=secret)
    env.pop("PINFS_ACCESS_TOKEN", None)
    env.update(extra)
    return env


def start_login(server, token_file, *args, env=None):
    cmd = [str(PINFS), "login", "-o", f"api_url={server.api}", "--token-file", str(token_file),
           "--timeout", "60", *args]
    # A session of its own: no controlling terminal, so no prompt can hang the test.
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or login_env(),
                            start_new_session=True)


def printed_url(proc):
    """The authorize address pinfs prints, read line by line from its stdout."""
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.strip().startswith("http"):
            return line.strip(), seen
    raise AssertionError("no authorize address printed: " + "".join(seen) + proc.stderr.read())


def checked(err):
    """pinfs login's stderr, once it is known to hold no sanitizer report or stray log line."""
    bad = [line for line in err.splitlines() if BAD_LOG.search(line)]
    assert not bad, "pinfs login printed:\n" + "\n".join(bad)
    return err


def run(args, **kw):
    r = subprocess.run([str(PINFS), *args], capture_output=True, text=True, timeout=60, **kw)
    checked(r.stderr)
    return r


def finish(proc, seen, stdin_text=None):
    out, err = proc.communicate(stdin_text, timeout=60)
    return proc.returncode, "".join(seen) + out, checked(err)


def login_pasting(server, token_file, paste=lambda location: location, env=None):
    """--no-browser: (status, stdout, stderr, authorize url)."""
    proc = start_login(server, token_file, "--no-browser", env=env)
    url, seen = printed_url(proc)
    status, out, err = finish(proc, seen, paste(authorize(url)) + "\n")
    return status, out, err, url


def login_listening(server, token_file, path="/callback", change=None, env=None):
    """Listener mode: (status, stdout, stderr, browser page status, page, authorize url)."""
    port = free_port()
    redirect = f"http://127.0.0.1:{port}{path}"
    proc = start_login(server, token_file, "--redirect-uri", redirect, env=env)
    url, seen = printed_url(proc)
    assert get(f"http://127.0.0.1:{port}/favicon.ico")[0] == 404
    location = authorize(url)
    assert location.startswith(redirect + "?")
    page_status, page = get(with_query(location, **(change or {})))
    status, out, err = finish(proc, seen)
    return status, out, err, page_status, page, url


def token_grant(server, form, secret=SECRET):
    """POST /v5/oauth/token as another client would: (status, answer)."""
    basic = base64.b64encode(f"{CLIENT}:{secret}".encode()).decode()
    req = urllib.request.Request(server.api + "/oauth/token", method="POST",
                                 data=urllib.parse.urlencode(form).encode(),
                                 headers={"Authorization": "Basic " + basic,
                                          "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def logged_in(server, tmp_path):
    """A token file written by `pinfs login`, and what it holds."""
    path = tmp_path / "config" / "pinfs" / "token.json"
    status, out, err, _ = login_pasting(server, path)
    assert status == 0, err
    return path, json.loads(path.read_text())


def token_posts(server):
    return server.counts().get("POST /v5/oauth/token", 0)


def mount_file(mount, server, path, *opts):
    return mount(server, opts=(f"token_file={path}", *opts), env={"PINFS_ACCESS_TOKEN": ""})


def boards(m):
    return sorted(os.listdir(m.path("boards")))


def write_token_file(path, data):
    path.write_text(json.dumps(data))
    os.chmod(path, 0o600)


# ---- the login ----

def test_login_no_browser_then_mount(fake, mount, tmp_path):
    server = fake("sample")
    config = tmp_path / "xdg"
    # The default token file: $XDG_CONFIG_HOME/pinfs/token.json, its directory made 0700.
    proc = subprocess.Popen([str(PINFS), "login", "--no-browser", "-o", f"api_url={server.api}"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=login_env(XDG_CONFIG_HOME=str(config)),
                            start_new_session=True)
    url, seen = printed_url(proc)
    status, out, err = finish(proc, seen, authorize(url) + "\n")
    assert status == 0, err
    assert out.strip().splitlines()[-1].startswith("logged in as demo_pinner")
    path = config / "pinfs" / "token.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["token.json"]   # no temp file left
    saved = json.loads(path.read_text())
    assert set(saved) == FIELDS
    assert saved["client_id"] == CLIENT and saved["client_secret"] == SECRET
    assert saved["api_url"] == server.api
    assert saved["expires_at"] > time.time() + 86400
    assert saved["refresh_token_expires_at"] > saved["expires_at"]
    assert "boards:write" in saved["scope"] and "pins:write_secret" in saved["scope"]
    for secret in (SECRET, saved["access_token"], saved["refresh_token"]):
        assert secret not in out and secret not in err
    # The authorize address asks for what pinfs needs.
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert url.startswith(server.base + "/oauth/?")
    assert query["client_id"] == CLIENT and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://localhost:8085/"
    assert query["scope"].split(",")[:5] == ["user_accounts:read", "boards:read", "boards:write",
                                             "pins:read", "pins:write"]
    assert len(query["state"]) >= 32
    m = mount_file(mount, server, path)
    assert boards(m) == ["Garden ideas", "Recipes", "Travel"]
    assert json.loads(m.path("me.json").read_text())["username"] == "demo_pinner"


def test_login_listener_answers_the_browser(fake, mount, tmp_path):
    server = fake("sample")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opened = tmp_path / "opened"
    (bin_dir / "xdg-open").write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    os.chmod(bin_dir / "xdg-open", 0o755)
    path = tmp_path / "token.json"
    env = login_env(PATH=f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    status, out, err, page_status, page, url = login_listening(server, path, env=env)
    assert status == 0, err
    assert "logged in as demo_pinner" in out
    assert page_status == 200 and "demo_pinner" in page and "close this window" in page
    deadline = time.time() + 10
    while not opened.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert opened.read_text() == url   # the browser was opened on the printed address
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert set(saved) == FIELDS
    for secret in (SECRET, saved["access_token"], saved["refresh_token"]):
        assert secret not in out and secret not in err
    m = mount_file(mount, server, path)
    assert "Recipes" in boards(m)


def test_login_with_the_bare_code(fake, tmp_path):
    server = fake("sample")
    path = tmp_path / "token.json"
    code = lambda location: dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["code"]
    status, out, err, _ = login_pasting(server, path, paste=code)
    assert status == 0, err
    assert json.loads(path.read_text())["refresh_token"]


@pytest.mark.parametrize("mode", ["paste", "listener"])
def test_wrong_state_is_refused(fake, tmp_path, mode):
    server = fake("sample")
    path = tmp_path / "token.json"
    if mode == "paste":
        status, out, err, _ = login_pasting(server, path,
                                            paste=lambda loc: with_query(loc, state="0" * 32))
    else:
        status, out, err, page_status, page, _ = login_listening(server, path, path="/",
                                                                  change={"state": "0" * 32})
        assert page_status == 400 and "state" in page
    assert status == 1
    assert len(err.strip().splitlines()[-1:]) == 1 and "state" in err.strip().splitlines()[-1]
    assert not path.exists()
    assert token_posts(server) == 0   # the code was never sent


def test_wrong_client_secret(fake, tmp_path):
    server = fake("sample")
    path = tmp_path / "token.json"
    status, out, err, _ = login_pasting(server, path, env=login_env(secret="not-the-secret"))
    assert status == 1
    lines = err.strip().splitlines()
    assert lines[-1].startswith("pinfs login: ") and "client id or secret" in lines[-1]
    assert "HTTP 401" in lines[-1]
    assert "not-the-secret" not in out + err
    assert not path.exists() and not list(tmp_path.iterdir())


def test_client_secret_on_the_command_line_is_refused(tmp_path):
    r = run(["login", "--client-id", CLIENT, "--client-secret=hunter2", "--token-file",
             str(tmp_path / "t.json")], env=login_env(), stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert "PINFS_CLIENT_SECRET" in r.stderr and "command line" in r.stderr
    assert "hunter2" not in r.stdout + r.stderr
    assert not (tmp_path / "t.json").exists()


def test_no_secret_and_no_terminal(tmp_path):
    env = login_env()
    del env["PINFS_CLIENT_SECRET"]
    r = run(["login", "--no-browser", "--token-file", str(tmp_path / "t")], env=env,
            stdin=subprocess.DEVNULL, start_new_session=True)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "pinfs login: no client secret: set PINFS_CLIENT_SECRET (there is no terminal to ask on)"]


def read_pty(fd, until=None, timeout=30):
    """What the program on the pty's other side wrote, up to `until` (bytes) or its exit."""
    got = b""
    deadline = time.time() + timeout
    while (until is None or until not in got) and time.time() < deadline:
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:   # EIO: the other side has closed
            break
        if not chunk:
            break
        got += chunk
    return got


def test_secret_prompt_on_the_terminal_does_not_echo(fake, tmp_path):
    server = fake("sample")
    path = tmp_path / "token.json"
    env = login_env()
    del env["PINFS_CLIENT_SECRET"]
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(PINFS), [str(PINFS), "login", "--no-browser", "-o", f"api_url={server.api}",
                               "--token-file", str(path)], env)
    try:
        seen = read_pty(fd, b"Client secret")
        assert b"Client secret" in seen, seen
        os.write(fd, SECRET.encode() + b"\n")
        seen += read_pty(fd, b"Address the browser")
        url = next(l.strip() for l in seen.decode().splitlines() if l.strip().startswith("http"))
        os.write(fd, authorize(url).encode() + b"\n")
        seen += read_pty(fd)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = checked(seen.decode(errors="replace"))
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "logged in as demo_pinner" in text
    assert SECRET not in text
    assert json.loads(path.read_text())["client_secret"] == SECRET


def test_production_authorize_address_and_help():
    env = login_env()
    r = run(["login", "--no-browser", "--client-id", "1234"], env=env, stdin=subprocess.DEVNULL,
            start_new_session=True)
    assert r.returncode == 1   # nothing pasted
    url = next(l.strip() for l in r.stdout.splitlines() if l.strip().startswith("http"))
    assert url.startswith("https://www.pinterest.com/oauth/?client_id=1234&")
    assert r.stderr.strip().splitlines()[-1] == "pinfs login: no address or code on standard input"
    h = run(["login", "--help"])
    assert h.returncode == 0 and "--no-browser" in h.stdout and "--redirect-uri" in h.stdout
    h = run(["--help"])
    assert "pinfs login --help" in h.stdout.replace(str(PINFS), "pinfs")
    r = run(["login", "--bogus=x"])
    assert r.returncode == 1 and "'--bogus'" in r.stderr


# ---- the token in a mount ----

def test_refresh_on_401_mid_session(fake, mount, tmp_path):
    server = fake("sample")
    path, before = logged_in(server, tmp_path)
    m = mount_file(mount, server, path, "dir_cache_ttl=1")
    assert "Recipes" in boards(m)
    assert token_posts(server) == 1
    server.admin("POST", "expire_token", {})
    time.sleep(1.2)
    assert "Recipes" in boards(m)
    assert token_posts(server) == 2
    after = json.loads(path.read_text())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert after["refresh_token"] != before["refresh_token"]
    assert after["access_token"] != before["access_token"]
    assert set(after) == FIELDS and after["client_secret"] == SECRET
    # Rotation: the old refresh token is dead, the new one is what the file holds.
    assert token_grant(server, {"grant_type": "refresh_token",
                                "refresh_token": before["refresh_token"]})[0] == 400
    assert server.v5("GET", "/user_account", token=after["access_token"])["username"] == "demo_pinner"


@pytest.mark.parametrize("left", [-3600, 120])
def test_refresh_before_expiry(fake, mount, tmp_path, left):
    server = fake("sample")
    path, saved = logged_in(server, tmp_path)
    if left < 0:   # an expired access token: the server refuses it too
        server.admin("POST", "expire_token", {"token": saved["access_token"]})
    write_token_file(path, dict(saved, expires_at=int(time.time()) + left))
    server.reset_counts()
    m = mount_file(mount, server, path)
    assert "Recipes" in boards(m)
    assert token_posts(server) == 1
    refused = [r for r in server.admin("GET", "requests")["requests"] if r["status"] == 401]
    assert refused == []   # refreshed before the first call, not after a refusal
    after = json.loads(path.read_text())
    assert after["expires_at"] > time.time() + 86400
    assert after["refresh_token"] != saved["refresh_token"]


def test_concurrent_callers_refresh_once(fake, mount, tmp_path):
    server = fake("boards=6,pins=60,sections=0")
    path, _ = logged_in(server, tmp_path)
    m = mount_file(mount, server, path, "dir_cache_ttl=1")
    names = boards(m)
    server.admin("POST", "expire_token", {})
    time.sleep(1.2)
    os.listdir(m.path("boards"))
    server.reset_counts()
    errors = []

    def ls(name):
        try:
            os.listdir(m.path("boards", name))
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=ls, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert token_posts(server) == 0   # the boards listing above refreshed once already
    server.admin("POST", "expire_token", {})
    time.sleep(1.2)
    threads = [threading.Thread(target=ls, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert token_posts(server) == 1


def test_failed_refresh_is_eacces_and_mount_stays(fake, mount, tmp_path):
    server = fake("sample")
    path, saved = logged_in(server, tmp_path)
    m = mount_file(mount, server, path, "dir_cache_ttl=1")
    m.expect_log(r"cannot refresh the access token: the API refused the grant \(HTTP 400")
    m.expect_log(r"HTTP 401")
    assert "Recipes" in boards(m)
    # Someone else uses the refresh token first: the mount's copy is dead.
    status, _ = token_grant(server, {"grant_type": "refresh_token",
                                     "refresh_token": saved["refresh_token"]})
    assert status == 200
    server.admin("POST", "expire_token", {})
    time.sleep(1.2)
    with pytest.raises(PermissionError):
        os.listdir(m.path("boards"))
    assert os.path.ismount(m.dir)
    with pytest.raises(PermissionError):
        os.listdir(m.path("boards"))
    assert os.path.ismount(m.dir)
    refreshes = [l for l in m.log().splitlines() if "cannot refresh" in l]
    assert len(refreshes) == 1 and "run 'pinfs login' again" in refreshes[0]
    assert saved["refresh_token"] not in m.log() and SECRET not in m.log()
    # A new login, while mounted, is taken up without a remount.
    status, out, err, _ = login_pasting(server, path)
    assert status == 0, err
    time.sleep(1.2)
    assert "Recipes" in boards(m)


def test_env_token_401_is_eacces(fake, mount):
    server = fake("sample")
    m = mount(server, opts=("dir_cache_ttl=1",))
    m.expect_log(r"HTTP 401")
    assert "Recipes" in boards(m)
    server.admin("POST", "expire_token", {})
    time.sleep(1.2)
    with pytest.raises(PermissionError):
        os.listdir(m.path("boards"))
    assert os.path.ismount(m.dir)
    assert token_posts(server) == 0


def test_readable_token_file_is_refused(fake, tmp_path):
    server = fake("sample")
    path, _ = logged_in(server, tmp_path)
    os.chmod(path, 0o644)
    mnt = tempfile.mkdtemp(prefix="pinfs-mnt-")
    try:
        r = subprocess.run([str(PINFS), "-f", "-o", f"api_url={server.api},token_file={path}", mnt],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, PINFS_ACCESS_TOKEN=""))
        checked(r.stderr)
    finally:
        if os.path.ismount(mnt):
            subprocess.run(["fusermount3", "-u", mnt])
        os.rmdir(mnt)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"pinfs: {path}: group or others may read it (mode 0644); run 'chmod 600 {path}'"]
