"""The read-only view of an account: tree, bytes, sizes, metadata, request counts, mount errors."""

import json
import os
import socket
import subprocess
import time

import pytest

from conftest import PINFS, TOKEN, Mount
from naming import best_image, created, expected_tree, walk


def test_tree_equals_server_state(account):
    server, m = account
    want = expected_tree(server.state())
    got = walk(m.dir)
    assert set(got) == set(want)
    for path, (kind, _) in want.items():
        assert got[path] == ("dir" if kind == "dir" else "file"), path


def test_names_follow_the_rules(account):
    server, m = account
    state = server.state()
    names = set(walk(m.dir))
    flat = {os.path.basename(n) for n in names}
    # A pin without a title is named by its id; one with '/' shows U+FF0F; duplicates get {ID}.
    untitled = [p for p in state["pins"] if not p.get("title")]
    assert untitled and all(any(f.startswith(p["id"] + ".") for f in flat) for p in untitled)
    assert any("\uff0f" in f for f in flat)
    assert any(f.endswith("}.json") and " {" in f for f in flat)
    assert all(len(f.encode()) <= 255 for f in flat)
    assert not any(f.startswith(".") and f != ".board.json" for f in flat)


def test_section_pins_only_in_their_section(account):
    server, m = account
    want = expected_tree(server.state())
    in_sections = [p for p, (k, pin) in want.items() if k == "json" and pin.get("board_section_id")]
    assert in_sections, "the seed has pins in sections"
    for path in in_sections:
        assert path.count("/") == 3 and (m.dir / path).exists()
        top = os.path.join(os.path.dirname(os.path.dirname(path)), os.path.basename(path))
        assert not (m.dir / top).exists() or top in want


def test_image_bytes_and_sizes(account):
    """Every file a pin shows (an image, a video, a cover, a carousel's item) reads as the
    server's bytes at its URL."""
    server, m = account
    urls = {}
    want = expected_tree(server.state(), urls=urls)
    assert len([p for p, (k, _) in want.items() if k == "image"]) >= 40
    assert any(k == "part" for k, _ in want.values()), "the seed has videos and carousels"
    for path, url in urls.items():
        data = (m.dir / path).read_bytes()
        assert data == server.fetch(url), path
        assert os.stat(m.dir / path).st_size == len(data), path


def test_sizes_shown_before_any_read(fake, mount):
    server = fake("boards=4,pins=60,sections=3")
    urls = {}
    expected_tree(server.state(), urls=urls)
    # The server's lengths, learnt before pinfs reads anything.
    sizes = {path: len(server.fetch(url)) for path, url in urls.items()}
    m = mount(server)
    server.reset_counts()
    for path, size in sizes.items():
        assert os.stat(m.dir / path).st_size == size, path
    assert not any(k.startswith(("GET /img", "GET /vid")) for k in server.counts())


def test_pin_json_shows_the_pin(account):
    server, m = account
    want = expected_tree(server.state())
    for path, (kind, pin) in want.items():
        if kind != "json":
            continue
        shown = json.loads((m.dir / path).read_text())
        for key in ("id", "title", "description", "link", "alt_text", "board_id",
                    "dominant_color", "created_at"):
            assert shown[key] == pin.get(key), (path, key)
        assert shown["board_section_id"] == pin.get("board_section_id")
        assert shown["media_type"] == pin["media"]["media_type"]
        picture = best_image(pin)
        if picture is not None:
            assert shown["image"]["url"] == picture["url"]
        else:   # a carousel has no picture of its own: one shown must be one of its items'
            items = pin["media"]["items"]
            urls = {img["url"] for i in items for img in (i.get("images") or {}).values()}
            urls |= {i["cover_image_url"] for i in items if i.get("cover_image_url")}
            assert "image" not in shown or shown["image"]["url"] in urls
        assert os.stat(m.dir / path).st_mtime == created(pin)


def test_board_json_and_me_json(account):
    server, m = account
    state = server.state()
    want = expected_tree(state)
    for path, (kind, board) in want.items():
        if kind == "board":
            shown = json.loads((m.dir / path).read_text())
            assert shown["id"] == board["id"] and shown["name"] == board["name"]
            assert shown["privacy"] == board["privacy"]
            assert shown["pin_count"] == board["pin_count"]
    me = json.loads((m.dir / "me.json").read_text())
    assert me["username"] == state["user"]["username"]
    assert os.stat(m.dir / "me.json").st_size == len((m.dir / "me.json").read_bytes())


def test_xattrs_mirror_the_pin(account):
    server, m = account
    want = expected_tree(server.state())
    path, (_, pin) = next((p, v) for p, v in want.items() if v[0] == "image")
    names = os.listxattr(m.dir / path)
    assert "user.pinterest.id" in names and "user.pinterest.title" in names
    assert os.getxattr(m.dir / path, "user.pinterest.id").decode() == pin["id"]
    assert os.getxattr(m.dir / path, "user.pinterest.url").decode() == \
        f"https://www.pinterest.com/pin/{pin['id']}/"
    if pin.get("title"):
        assert os.getxattr(m.dir / path, "user.pinterest.title").decode() == pin["title"]
    with pytest.raises(OSError):
        os.getxattr(m.dir / path, "user.pinterest.nothing")


def test_namespace_and_df(account):
    server, m = account
    top = set(os.listdir(m.dir))
    assert {"me.json", "boards", "pins", "search", "followers", "following"} <= top
    assert set(os.listdir(m.dir / "following")) == {"users", "boards", "interests"}
    os.listdir(m.dir / "boards")
    st = os.statvfs(m.dir)
    # df's "used" is the pin count; free inodes are plenty, so df -i is never "full".
    assert st.f_files - st.f_ffree == sum(b["pin_count"] for b in server.state()["boards"])
    assert st.f_ffree > 1_000_000


def test_image_size_option(fake, mount):
    server = fake("boards=2,pins=10,sections=1")
    m = mount(server, opts=("image_size=150x150",))
    want = expected_tree(server.state(), prefer="150x150")
    for path, (kind, pin) in want.items():
        if kind == "image":
            assert (m.dir / path).read_bytes() == server.fetch(pin["media"]["images"]["150x150"]["url"])


def big_board(server):
    state = server.state()
    board = max(state["boards"], key=lambda b: b["pin_count"])
    names = expected_tree(state)
    path = next(p for p, (k, b) in names.items() if k == "dir" and b is board)
    top_images = [p for p, (k, pin) in names.items()
                  if k in ("image", "part") and os.path.dirname(p) == path]
    return board, path, top_images


def requests(server, route):
    return server.counts().get(route, 0)


def test_request_counts_of_a_600_pin_board(fake, mount):
    server = fake("boards=3,pins=700,sections=3,big=600")
    board, path, top_images = big_board(server)
    assert board["pin_count"] == 600

    # find -name over a cold mount: listings only, never a HEAD or GET of an image.
    m = mount(server)
    cache = m.cache_dir
    server.reset_counts()
    out = subprocess.run(["find", str(m.dir / path), "-name", "*.json", "!", "-name", ".board.json"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == 600
    c = server.counts()
    assert c.get("GET /v5/boards/{board_id}/pins") == 3
    assert c.get("GET /v5/boards/{board_id}/sections") == 1
    assert not any(k.startswith(("HEAD /img", "GET /img", "HEAD /vid", "GET /vid")) for k in c)

    # ls -l: sizes by at most one HEAD per file (images, videos, covers, items), no more
    # listing.
    server.reset_counts()
    subprocess.run(["ls", "-l", str(m.dir / path)], capture_output=True, check=True)
    c = server.counts()
    assert 0 < c.get("HEAD /img", 0) + c.get("HEAD /vid", 0) <= len(top_images)
    assert "GET /v5/boards/{board_id}/pins" not in c and "GET /img" not in c
    assert "GET /vid" not in c

    # Again within the TTL: nothing at all.
    server.reset_counts()
    subprocess.run(["ls", "-l", str(m.dir / path)], capture_output=True, check=True)
    assert server.counts() == {}
    m.unmount()

    # A fresh mount on the same cache: 3 + 1 listing requests, sizes from the cache.
    m2 = mount(server, cache_dir=cache)
    server.reset_counts()
    subprocess.run(["ls", "-l", str(m2.dir / path)], capture_output=True, check=True)
    c = server.counts()
    assert c.get("GET /v5/boards/{board_id}/pins") == 3
    assert c.get("GET /v5/boards/{board_id}/sections") == 1
    assert "HEAD /img" not in c and "HEAD /vid" not in c


def test_reading_json_and_bare_ls_send_no_image_request(account):
    server, m = account
    server.reset_counts()
    subprocess.run(["ls", "-R", str(m.dir / "boards")], capture_output=True, check=True)
    subprocess.run(["grep", "-rl", "--include=*.json", "a", str(m.dir / "boards")],
                   capture_output=True)
    c = server.counts()
    assert "HEAD /img" not in c and "GET /img" not in c
    assert "GET /v5/boards" not in c   # listed at mount time, beside the token's check


def test_images_are_downloaded_once(account):
    server, m = account
    want = expected_tree(server.state())
    path = next(p for p, (k, _) in want.items() if k == "image")
    first = (m.dir / path).read_bytes()
    server.reset_counts()
    subprocess.run(["sh", "-c", "echo 3 > /proc/sys/vm/drop_caches"], check=False)
    assert (m.dir / path).read_bytes() == first
    assert "GET /img" not in server.counts()


def test_remote_changes_show_after_the_ttl(fake, mount):
    server = fake("boards=2,pins=10,sections=0")
    m = mount(server, opts=("dir_cache_ttl=1",))
    boards = os.listdir(m.dir / "boards")
    server.v5("POST", "/boards", {"name": "Made elsewhere"})
    time.sleep(1.5)
    assert set(os.listdir(m.dir / "boards")) == set(boards) | {"Made elsewhere"}


def test_unchanged_boards_are_not_listed_again(fake, mount):
    server = fake("boards=3,pins=30,sections=1")
    m = mount(server, opts=("dir_cache_ttl=1",))
    names = sorted(os.listdir(m.dir / "boards"))
    for n in names:
        os.listdir(m.dir / "boards" / n)
    time.sleep(1.2)
    server.reset_counts()
    for n in names:
        os.listdir(m.dir / "boards" / n)
    c = server.counts()
    assert c.get("GET /v5/boards") == 1
    assert "GET /v5/boards/{board_id}/pins" not in c


def run_pinfs(server_api, env_token, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = dict(os.environ, PINFS_ACCESS_TOKEN=env_token)
    r = subprocess.run([str(PINFS), "-f", "-o", f"api_url={server_api},cache_dir={tmp_path}/c",
                        str(mnt)], capture_output=True, text=True, env=env, timeout=60)
    return r, mnt


def test_bad_token_fails_the_mount(fake, tmp_path):
    server = fake("boards=1,pins=1,sections=0")
    r, mnt = run_pinfs(server.api, "wrong-token", tmp_path)
    assert r.returncode == 1
    assert "refused the access token" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "wrong-token" not in r.stderr
    assert not os.path.ismount(mnt)


def test_an_unusable_cache_dir_fails_the_mount_in_one_line(fake, tmp_path):
    """The cache is set up while the token's check is on its way: a cache that cannot be
    made still ends the mount with one line."""
    server = fake("boards=1,pins=1,sections=0", "--latency-ms", "300")
    (tmp_path / "c").write_text("a file where the cache folder should be\n")
    r, mnt = run_pinfs(server.api, TOKEN, tmp_path)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cache directory" in lines[0], lines
    assert not os.path.ismount(mnt)


def closed_port():
    """A loopback port that nothing listens on: bound (so no one else takes it), never listening."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


def test_unreachable_api_fails_the_mount(tmp_path):
    s = closed_port()
    try:
        r, mnt = run_pinfs(f"http://127.0.0.1:{s.getsockname()[1]}/v5", TOKEN, tmp_path)
    finally:
        s.close()
    assert r.returncode == 1
    assert "cannot reach the API" in r.stderr
    assert not os.path.ismount(mnt)


def test_no_token_fails_the_mount(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PINFS_ACCESS_TOKEN"}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    r = subprocess.run([str(PINFS), "-f", str(mnt)], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "no access token" in r.stderr


def test_world_readable_token_file_is_refused(fake, tmp_path):
    server = fake("boards=1,pins=1,sections=0")
    tok = tmp_path / "token.json"
    tok.write_text(json.dumps({"access_token": TOKEN}))
    tok.chmod(0o644)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PINFS_ACCESS_TOKEN"}
    r = subprocess.run([str(PINFS), "-f", "-o", f"api_url={server.api},token_file={tok}",
                        str(mnt)], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "chmod 600" in r.stderr


def test_token_file_mounts(fake, mount, tmp_path):
    server = fake("boards=1,pins=3,sections=0")
    tok = tmp_path / "token.json"
    tok.write_text(json.dumps({"access_token": TOKEN, "refresh_token": "r"}))
    tok.chmod(0o600)
    env = {"PINFS_ACCESS_TOKEN": ""}
    m = mount(server, opts=(f"token_file={tok}",), env=env)
    assert len(os.listdir(m.dir / "boards")) == 1


def test_help_and_version():
    r = subprocess.run([str(PINFS), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("pinfs ")
    r = subprocess.run([str(PINFS), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "api_url=" in r.stdout and "dir_cache_ttl=" in r.stdout


def board_listing_windows(server, latency):
    """(board id, start, end) of each board pin-page request, from the server's log."""
    out = []
    for r in server.admin("GET", "requests")["requests"]:
        if r["route"] == "GET /v5/boards/{board_id}/pins":
            out.append((r["path"].split("/")[3], r["t"] - latency, r["t"]))
    return out


def test_a_walk_lists_boards_side_by_side(fake, mount):
    server = fake("boards=8,pins=160,sections=2", "--latency-ms", "200")
    m = mount(server)
    server.reset_counts()
    out = subprocess.run(["find", str(m.dir / "boards"), "-name", "*.json"], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert len(out) == 160 + 8
    c = server.counts()
    # Every board listed once, nothing more: the floor.
    assert c.get("GET /v5/boards/{board_id}/pins") == 8
    assert c.get("GET /v5/boards/{board_id}/sections") == 8
    assert "GET /v5/boards" not in c   # listed at mount time, beside the token's check
    windows = board_listing_windows(server, 0.2)
    overlapping = sum(1 for i, a in enumerate(windows) for b in windows[i + 1:]
                      if a[0] != b[0] and a[1] < b[2] and b[1] < a[2])
    assert overlapping > 0, "board listings never ran side by side"
    # The walk is seen when the second board is opened, not once its listing is in: the
    # others are on their way while the walker still waits for it.
    windows.sort(key=lambda w: w[1])
    second = windows[1]
    assert any(w[1] < second[2] for w in windows[2:]), "the others waited for the second board"


@pytest.mark.parametrize("walker", ["find", "python"])
def test_a_walker_that_holds_boards_open_is_seen_at_its_first_board(fake, mount, walker):
    """find and grep -r keep a folder open while they go through its subfolders: the first
    board they open starts the walk, and the other boards are listed beside it, not from the
    second board on. A program that reads boards/ and closes it first is not seen so
    (test_browsing_one_board_lists_only_that_board)."""
    server = fake("boards=6,pins=600,sections=0", "--latency-ms", "200")
    m = mount(server)
    boards = m.dir / "boards"
    names = sorted(os.listdir(boards))
    server.reset_counts()
    if walker == "find":
        subprocess.run(["find", str(boards), "-name", "*.json"], check=True, capture_output=True)
    else:
        held = os.open(boards, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.listdir(boards / names[0])
        finally:
            os.close(held)
    # The server counts a request once it has answered it, and a board's two listings run side
    # by side: wait for both kinds, then one latency more so that a duplicate would be counted.
    deadline = time.time() + 30
    while time.time() < deadline and any(
            server.counts().get(route, 0) < 6 for route in
            ("GET /v5/boards/{board_id}/sections", "GET /v5/boards/{board_id}/pins")):
        time.sleep(0.1)
    time.sleep(0.3)
    c = server.counts()
    assert c.get("GET /v5/boards/{board_id}/sections") == 6   # every board, once
    assert c.get("GET /v5/boards/{board_id}/pins") == 6       # 100 pins a board: one page each
    windows = sorted(board_listing_windows(server, 0.2), key=lambda w: w[1])
    own = windows[0]
    # Every other board's listing began before the first board's was in.
    assert all(w[1] < own[2] for w in windows[1:]), windows


def test_a_walk_lists_the_biggest_board_first(fake, mount):
    """A board's pages come one after another: the walk starts the longest chain first, even
    when the board comes last in the folder, so that it does not end the walk alone."""
    server = fake("boards=12,pins=120,sections=0,big=800", "--latency-ms", "200")
    big = server.state()["boards"][0]   # the oldest is the big one
    server.v5("PATCH", f"/boards/{big['id']}", {"name": "zzzz biggest"})
    m = mount(server)
    names = sorted(os.listdir(m.dir / "boards"))
    assert names[-1] == "zzzz biggest"
    server.reset_counts()
    os.listdir(m.dir / "boards" / names[0])
    os.listdir(m.dir / "boards" / names[1])   # a walk: the ten others are listed ahead
    deadline = time.time() + 30
    while server.counts().get("GET /v5/boards/{board_id}/pins", 0) < 2 + 10 + 3 and \
            time.time() < deadline:
        time.sleep(0.2)
    read = {b["id"] for path, (kind, b) in expected_tree(server.state()).items()
            if kind == "board" and path.split("/")[1] in names[:2]}
    assert len(read) == 2
    walked = [w for w in board_listing_windows(server, 0.2) if w[0] not in read]
    first_pages = {}
    for board, start, end in sorted(walked, key=lambda w: w[1]):
        first_pages.setdefault(board, (start, end))
    assert len(first_pages) == 10
    # Eight boards are listed at once: the big one is among the first eight, not the last two.
    first_done = min(end for start, end in first_pages.values())
    assert first_pages[big["id"]][0] < first_done, "the biggest board waited for a free worker"


def test_a_walker_meets_the_long_board_last_and_it_is_listed_first(fake, mount):
    """boards/ is read with the fewest pages first, whatever the names: a walker (find)
    starts where a listing is back soonest and comes to the long chain of pages last, which
    the background started first."""
    server = fake("boards=6,pins=60,sections=0,big=800", "--latency-ms", "200")
    big = server.state()["boards"][0]
    server.v5("PATCH", f"/boards/{big['id']}", {"name": "AAAA biggest"})
    m = mount(server)
    order = os.listdir(m.dir / "boards")   # readdir's order, unsorted
    assert sorted(order)[0] == "AAAA biggest"
    assert order[-1] == "AAAA biggest", order
    server.reset_counts()
    out = subprocess.run(["find", str(m.dir / "boards"), "-name", "*.json"], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert len(out) == 800 + 5 * 12 + 6   # and each board's .board.json
    assert server.counts().get("GET /v5/boards/{board_id}/pins") == 4 + 5   # the floor
    # find prints in the order it walks; its first board's listing and the background's
    # start together (find holds boards/ open), so the server's log cannot tell them apart.
    walked = [os.path.relpath(p, m.dir / "boards").split("/")[0] for p in out]
    assert walked[0] != "AAAA biggest" and walked[-1] == "AAAA biggest", walked[:3]
    first = {}
    for board, start, end in sorted(board_listing_windows(server, 0.2), key=lambda w: w[1]):
        first.setdefault(board, (start, end))
    others_done = min(end for board, (start, end) in first.items() if board != big["id"])
    assert first[big["id"]][0] < others_done, "the long board waited behind the short ones"


def test_browsing_one_board_lists_only_that_board(fake, mount):
    server = fake("boards=8,pins=160,sections=2")
    m = mount(server)
    names = sorted(os.listdir(m.dir / "boards"))
    server.reset_counts()
    os.listdir(m.dir / "boards" / names[0])
    time.sleep(0.5)
    assert server.counts().get("GET /v5/boards/{board_id}/pins") == 1
