"""What a broken server's bytes and pages can do to a mount: image answers that are not the
image (an HTML page with status 200, a length other than the size shown), cache files cut on
disk, text the JSON parser refuses (a lone UTF-16 surrogate), pages whose items are unusable or
whose shape is not the published one, and ids repeated within one listing.

Each test checks what the mount shows, what the calling program was told (bytes or errno),
what the server holds or was asked, and the one log line the fault is worth."""

import errno
import hashlib
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from naming import sanitize

SEED = "boards=3,pins=30,sections=1"
PINS = "GET /v5/boards/{board_id}/pins"
BOARDS = "GET /v5/boards"
HTML = "<!DOCTYPE html><html><head><title>Oops</title></head><body>Try again</body></html>"


# ---- helpers ----

def board_dirs(m):
    return sorted(os.listdir(m.path("boards")))


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, e.value


def cache_key(url):
    """src/remote/cache.c's key of a URL: 64-bit FNV-1a, never 0."""
    h = 0xcbf29ce484222325
    for byte in url.encode():
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % (h or 1)


def cached_files(m, url):
    """The files the cache holds for url: the image and any .part or temporary."""
    key = cache_key(url)
    return sorted(f for f in os.listdir(Path(m.cache_dir) / "images") if f.startswith(key))


def first_image(server, m, board=None):
    """(path in the mount, the pin from /_fake/state?images=1, its shown image URL) of the first
    image of a board."""
    folder = m.path("boards", board or board_dirs(m)[0])
    name = sorted(n for n in os.listdir(folder) if n.endswith((".jpg", ".png")))[0]
    pin_id = json.loads((folder / (name.rsplit(".", 1)[0] + ".json")).read_text())["id"]
    pin = next(p for p in server.state(images=True)["pins"] if p["id"] == pin_id)
    return folder / name, pin, pin["media"]["images"]["originals"]["url"]


def sha(data):
    return hashlib.sha256(data).hexdigest()


def read_all(path):
    """Reads path to its end with read(2): (bytes read, errno that ended it or 0)."""
    fd = os.open(path, os.O_RDONLY)
    got = b""
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return got, 0
            got += chunk
    except OSError as e:
        return got, e.errno
    finally:
        os.close(fd)


def requests_on(server, route):
    return [r for r in server.admin("GET", "requests")["requests"] if r["route"] == route]


def log_lines(m, pattern):
    return [line for line in m.log().splitlines() if re.search(pattern, line)]


def board_id(server, folder):
    """The id of the board shown as folder, found without listing it (which would make the
    next listing wait for the TTL)."""
    return next(b["id"] for b in server.state()["boards"] if sanitize(b["name"], b["id"]) == folder)


def folders(boards):
    """The folder names of boards whose names need no suffix (naming.py has the rules)."""
    return sorted(sanitize(b["name"], b["id"]) for b in boards)


def pins_of(server, bid):
    """The board's pins outside its sections (their files are in the board's folder)."""
    return [p for p in server.state()["pins"]
            if p["board_id"] == bid and not p.get("board_section_id")]


@pytest.fixture
def acct(fake, mount):
    server = fake(SEED)
    return server, mount(server)


# ---- 1. image bytes are checked ----

@pytest.mark.parametrize("size_known", [False, True])
def test_html_answer_to_an_image_is_eio_and_never_cached(acct, size_known):
    server, m = acct
    path, pin, url = first_image(server, m)
    want = pin["_image"]["originals"]
    if size_known:
        assert os.stat(path).st_size == want["size"]   # the folder's HEADs
    kind = "PNG" if url.endswith(".png") else "JPEG"
    m.expect_log(r"download of .* failed: the answer is not a %s image \(it starts with "
                 r"\"<!DOCTYPE ht\"\)$" % kind)
    server.reset_counts()
    server.fault(route="GET /img", path=urlsplit(url).path, action="raw", status=200,
                 body_text=HTML, headers={"Content-Type": "text/html"})
    got, err = read_all(path)
    assert err == errno.EIO and b"DOCTYPE" not in got
    assert cached_files(m, url) == []
    gets = requests_on(server, "GET /img")
    assert len(gets) == 1 and gets[0]["fault"] == "raw"   # a wrong answer is not asked again
    assert len(log_lines(m, r"is not a %s image" % kind)) == 1
    # The fault gone, the image reads whole, with the size shown, and is cached.
    data = path.read_bytes()
    assert sha(data) == want["sha256"] and len(data) == want["size"]
    assert os.stat(path).st_size == want["size"]
    assert cached_files(m, url) == [cache_key(url)]
    assert sha((Path(m.cache_dir) / "images" / cache_key(url)).read_bytes()) == want["sha256"]


@pytest.mark.parametrize("cut", ["half", "empty", "html"])
def test_cache_file_cut_on_disk_is_fetched_again(fake, mount, tmp_path, cut):
    server = fake(SEED)
    cache = str(tmp_path / "cache")
    m = mount(server, cache_dir=cache)
    path, pin, url = first_image(server, m)
    want = pin["_image"]["originals"]
    assert os.stat(path).st_size == want["size"]
    assert sha(path.read_bytes()) == want["sha256"]
    rel = path.relative_to(m.dir)
    m.unmount()
    cached = Path(cache) / "images" / cache_key(url)
    assert cached.stat().st_size == want["size"]
    if cut == "html":
        # What an older pinfs kept of an error page, with its length as the size.
        cached.write_bytes(HTML.encode().ljust(want["size"], b" "))
    else:
        os.truncate(cached, want["size"] // 2 if cut == "half" else 0)

    again = mount(server, cache_dir=cache)
    again.expect_log(r"cached image of .* (has \d+ bytes, not %d|is not a (JPEG|PNG) image "
                     r"\(it starts with \"<!DOCTYPE ht\"\)): fetching it again" % want["size"])
    server.reset_counts()
    # The size survived the remount (no HEAD); the bytes are fetched once more, whole.
    assert os.stat(again.dir / rel).st_size == want["size"]
    data, err = read_all(again.dir / rel)
    assert err == 0 and sha(data) == want["sha256"]
    counts = server.counts()
    assert counts.get("HEAD /img", 0) == 0 and counts.get("GET /img") == 1
    assert cached.stat().st_size == want["size"] and sha(cached.read_bytes()) == want["sha256"]
    assert len(log_lines(again, r"fetching it again")) == 1
    # Now whole on disk: read from there.
    assert sha((again.dir / rel).read_bytes()) == want["sha256"]
    assert server.counts().get("GET /img") == 1


@pytest.mark.parametrize("head_says", ["more", "less"])
def test_head_and_get_disagreeing_on_size_is_eio(fake, mount, tmp_path, head_says):
    server = fake(SEED)
    cache = str(tmp_path / "cache")
    m = mount(server, cache_dir=cache)
    path, pin, url = first_image(server, m)
    want = pin["_image"]["originals"]
    lie = want["size"] + 5000 if head_says == "more" else want["size"] // 3
    server.fault(route="HEAD /img", path=urlsplit(url).path, action="raw", status=200,
                 body_text="x" * lie)
    assert os.stat(path).st_size == lie
    m.expect_log(r"download of .* failed: %d bytes, where its size was %d; that size is "
                 r"forgotten" % (want["size"], lie))
    got, err = read_all(path)
    # Never fewer bytes than the stat said, with no error; never the stat's size cut short.
    assert err == errno.EIO and len(got) < lie
    assert cached_files(m, url) == []
    assert len(log_lines(m, r"that size is forgotten")) == 1
    # The folder forgets it too: the next stat in this mount asks again (the fault is spent).
    time.sleep(1.1)  # the kernel's own copy of the attributes
    server.reset_counts()
    assert os.stat(path).st_size == want["size"]
    assert [r["path"] for r in requests_on(server, "HEAD /img")] == [urlsplit(url).path]
    data, err = read_all(path)
    assert err == 0 and sha(data) == want["sha256"]
    rel = path.relative_to(m.dir)
    m.unmount()
    # What was learnt again is what a remount knows: the right size, the bytes cached.
    again = mount(server, cache_dir=cache)
    server.reset_counts()
    assert os.stat(again.dir / rel).st_size == want["size"]
    data, err = read_all(again.dir / rel)
    assert err == 0 and sha(data) == want["sha256"]
    assert cached_files(again, url) == [cache_key(url)]
    assert "GET /img" not in server.counts()


# ---- 2. a lone UTF-16 surrogate fails nothing ----

def test_lone_surrogate_in_a_board_name_is_read_as_replacement(fake, mount):
    server = fake(SEED)
    made = server.admin("POST", "boards", {"name": "Cut \ud83c"})
    assert made["name"] == "Cut \ud83c"
    m = mount(server)
    m.expect_log(r"an API answer holds 1 lone UTF-16 surrogate escape\(s\)")
    names = board_dirs(m)
    others = [b for b in server.state()["boards"] if b["id"] != made["id"]]
    assert sorted(folders(others) + ["Cut \ufffd"]) == names
    shown = json.loads(m.path("boards", "Cut \ufffd", ".board.json").read_text())
    assert shown["id"] == made["id"] and shown["name"] == "Cut \ufffd"
    assert os.listdir(m.path("boards", "Cut \ufffd")) == [".board.json"]
    # In a page of pins: a lone high and a lone low surrogate, a whole pair, an escaped
    # backslash before "ud83c" (text, not an escape).
    first = board_dirs(m)[0]
    pins = pins_of(server, board_id(server, first))[:4]
    titles = ["a\\ud83cb", "\\udc00z", "Sunset \\ud83c\\udf05", "back\\\\ud83c"]
    items = []
    for pin, title in zip(pins, titles):
        text = json.dumps(dict(pin, title="@"))
        items.append(text.replace('"title": "@"', '"title": "%s"' % title))
    body = '{"items": [%s], "bookmark": null}' % ", ".join(items)
    server.fault(route=PINS, path=f"/v5/boards/{pins[0]['board_id']}/pins", action="raw",
                 status=200, body_text=body)
    m.expect_log(r"an API answer holds 2 lone UTF-16 surrogate escape\(s\)")
    listed = os.listdir(m.path("boards", first))
    for name in ("a\ufffdb.json", "\ufffdz.json", "Sunset \U0001f305.json", "back\\ud83c.json"):
        assert name in listed, listed
    assert len(log_lines(m, r"holds 2 lone UTF-16")) == 1


# ---- 3. unusable items are said once; a page of another shape is EIO ----

def test_unusable_items_are_skipped_with_one_line_per_listing(fake, mount):
    server = fake(SEED)
    boards = server.state()["boards"]
    bad = ["a string", 5, None, [], {"name": "no id"}, {"id": 77, "name": "numeric id"},
           {"id": "78", "name": ["not a string"]}]
    server.fault(route=BOARDS, action="raw", status=200,
                 body_text=json.dumps({"items": bad + boards[:2], "bookmark": None}))
    # The first GET /boards is the one made while mounting, whose thread logs nothing else.
    m = mount(server)
    m.expect_log(r"^pinfs: warning: GET /boards: skipping a board without a usable id or name: "
                 r"7 of 9 items$")
    assert board_dirs(m) == folders(boards[:2])
    assert len(log_lines(m, r"skipping a board")) == 1
    first = board_dirs(m)[0]
    bid = board_id(server, first)
    good = pins_of(server, bid)[0]
    body = {"items": ["x", 1, None, {"title": "no id"}, {"id": 12345}, {"id": "../etc"}, good],
            "bookmark": None}
    server.fault(route=PINS, path=f"/v5/boards/{bid}/pins", action="raw", status=200,
                 body_text=json.dumps(body))
    m.expect_log(r"GET /boards/%s/pins: skipping a pin without a usable id: 6 of 7 items$" % bid)
    names = os.listdir(m.path("boards", first))
    assert len([n for n in names if n.endswith(".json") and n != ".board.json"]) == 1
    sidecar = next(n for n in names if n.endswith(".json") and n != ".board.json")
    assert json.loads(m.path("boards", first, sidecar).read_text())["id"] == good["id"]
    assert len(log_lines(m, r"skipping a pin")) == 1
    assert m.proc.poll() is None


SHAPES = {
    "no-items": '{"bookmark": null}',
    "items-an-object": '{"items": {"id": "1"}, "bookmark": null}',
    "not-an-object": '"items"',
    "bookmark-a-number": '{"items": [], "bookmark": 5}',
    "bookmark-a-list": '{"items": [], "bookmark": ["next"]}',
}


@pytest.mark.parametrize("case", SHAPES)
def test_page_of_another_shape_is_eio_not_an_empty_folder(acct, case):
    server, m = acct
    m.expect_log(r"answer has no items list|answer's bookmark is not a string|cannot list board")
    first = board_dirs(m)[0]
    bid = board_id(server, first)
    server.fault(route=PINS, path=f"/v5/boards/{bid}/pins", action="raw", status=200,
                 body_text=SHAPES[case])
    expect_errno(errno.EIO, os.listdir, m.path("boards", first))
    why = "bookmark is not a string" if case.startswith("bookmark") else "no items list"
    assert len(log_lines(m, f"GET /boards/{bid}/pins: answer('s)? .*{why}")) == 1
    # The fault was one answer: the board lists fine afterwards, its pins all there.
    names = os.listdir(m.path("boards", first))
    sidecars = [n for n in names if n.endswith(".json") and n != ".board.json"]
    assert len(sidecars) == len(pins_of(server, bid))


def test_boards_page_of_another_shape_is_eio(fake, mount):
    server = fake(SEED)
    # The walk made while mounting, and the one ls makes when that failed.
    server.fault(route=BOARDS, action="raw", status=200, count=2,
                 body_text='{"items": [], "bookmark": {"next": "x"}}')
    m = mount(server)
    m.expect_log(r"GET /boards: answer's bookmark is not a string")
    expect_errno(errno.EIO, os.listdir, m.path("boards"))
    assert server.admin("GET", "faults")["faults"] == []
    assert board_dirs(m) == folders(server.state()["boards"])


# ---- 4. an id repeated within one listing shows once ----

def test_repeated_pin_shows_once_and_leaves_no_ghost(acct):
    server, m = acct
    first = board_dirs(m)[0]
    bid = board_id(server, first)
    pins = pins_of(server, bid)
    a, b = pins[0], pins[1]
    again = dict(a, title="Another title for the same pin")
    path = f"/v5/boards/{bid}/pins"
    # Across two pages: a and b, then a again under another title.
    server.fault(route=PINS, path=path, action="raw", status=200,
                 body_text=json.dumps({"items": [a, b], "bookmark": "p2"}))
    server.fault(route=PINS, path=path, action="raw", status=200,
                 body_text=json.dumps({"items": [again, b], "bookmark": None}))
    m.expect_log(r"GET /boards/%s/pins: dropping 2 item\(s\) that repeat an earlier one's id "
                 r"\(pin %s\)" % (bid, a["id"]))
    names = os.listdir(m.path("boards", first))
    sidecars = [n for n in names if n.endswith(".json") and n != ".board.json"]
    ids = [json.loads(m.path("boards", first, n).read_text())["id"] for n in sidecars]
    assert sorted(ids) == sorted([a["id"], b["id"]])
    shown = next(n for n in sidecars
                 if json.loads(m.path("boards", first, n).read_text())["id"] == a["id"])
    assert json.loads(m.path("boards", first, shown).read_text())["title"] == a["title"]
    assert len(log_lines(m, r"dropping")) == 1
    # The one name of the pin removes it; nothing is left under another name.
    os.remove(m.path("boards", first, shown[: -len(".json")] + ".jpg"))
    assert a["id"] not in [p["id"] for p in server.state()["pins"]]
    left = [json.loads(m.path("boards", first, n).read_text())["id"]
            for n in os.listdir(m.path("boards", first)) if n.endswith(".json") and n != ".board.json"]
    assert a["id"] not in left and b["id"] in left


def test_repeated_board_shows_as_one_folder(fake, mount):
    server = fake(SEED)
    boards = server.state()["boards"]
    twice = dict(boards[0], name="Same board, other name")
    server.fault(route=BOARDS, action="raw", status=200,
                 body_text=json.dumps({"items": [boards[0], twice] + boards[1:], "bookmark": None}))
    m = mount(server)
    m.expect_log(r"GET /boards: dropping 1 item\(s\) that repeat an earlier one's id "
                 r"\(board %s\)" % boards[0]["id"])
    assert board_dirs(m) == folders(boards)
    assert len(log_lines(m, r"dropping")) == 1
