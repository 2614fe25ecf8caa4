"""The fast paths, checked for what they must never give up: images streamed while they download
(the first bytes before the last, one shared GET, a thumbnailer that reads 64 KiB fetching not
much more, a cut transfer resumed or failed with EIO, never short bytes), a pin made by cp
whose size and bytes need no image request, and JSON sidecars served from the kernel's page
cache yet always showing the text as it is now (edits, renames, remote changes of any length).
docs/design.md says how each works."""

import base64
import errno
import io
import json
import os
import signal
import subprocess
import threading
import time

import pytest
from PIL import Image

from naming import expected_tree

SEED = "boards=2,pins=6,sections=0"
KIB = 1 << 10
MIB = 1 << 20


def noise_jpeg(seed, mb):
    """A JPEG of about mb MB (noise compresses badly), the same for one seed."""
    side = int((mb * MIB / 0.9) ** 0.5)
    rnd = __import__("random").Random(seed)
    pixels = rnd.randbytes(side * side * 3)
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def small_jpeg(color, size):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def first_board(server):
    return server.state()["boards"][0]


def upload(server, board_id, title, data):
    """Makes a pin behind pinfs' back, as another client would: its originals are data."""
    return server.v5("POST", "/pins", {
        "board_id": board_id, "title": title,
        "media_source": {"source_type": "image_base64", "content_type": "image/jpeg",
                         "data": base64.b64encode(data).decode()}})


def requests_on(server, route):
    return [r for r in server.admin("GET", "requests")["requests"] if r["route"] == route]


def image_requests(counts):
    """The requests for pictures and videos in the counts."""
    return {k: v for k, v in counts.items() if k in ("GET /img", "HEAD /img", "GET /vid", "HEAD /vid")}


def pictures(folder):
    """The picture files of a folder, sorted (a generated account also has videos and
    carousels: their other files are not pictures, and their sizes cost no HEAD /img)."""
    return sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg", ".png")))


def cache_files(m):
    d = os.path.join(m.cache_dir, "images")
    return {f: os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)}


@pytest.fixture
def big(fake, mount):
    """A server with three pins of a few MB on its first board, and a mount of it:
    (server, mount, folder, {title: bytes})."""
    server = fake(SEED)
    board = first_board(server)
    pics = {f"Big {i}": noise_jpeg(i, 4) for i in range(3)}
    for title, data in pics.items():
        upload(server, board["id"], title, data)
    m = mount(server)
    folder = m.path("boards", board["name"])
    for title, data in pics.items():   # sizes known (one HEAD sweep): the page cache is used
        assert os.stat(folder / f"{title}.jpg").st_size == len(data)
    server.reset_counts()
    return server, m, folder, pics


# ---- 1. images stream: a read waits only for its own bytes ----

def test_first_bytes_come_before_the_whole_image(big):
    server, m, folder, pics = big
    data = pics["Big 0"]
    server.fault(route="GET /img", action="stall", bytes=MIB, ms=3000)
    t0 = time.monotonic()
    with open(folder / "Big 0.jpg", "rb", buffering=0) as f:
        opened = time.monotonic() - t0
        head = f.read(64 * KIB)
        first = time.monotonic() - t0
        rest = b""
        while chunk := f.read(MIB):
            rest += chunk
    total = time.monotonic() - t0
    assert head == data[:64 * KIB] and head + rest == data
    # open and the first 64 KiB do not wait for the stalled rest; the whole file does
    assert opened < 1 and first < 1.5, (opened, first)
    assert total >= 2.5, total
    assert [r.get("range") for r in requests_on(server, "GET /img")] == [None]
    # cached now: a second read sends nothing
    server.reset_counts()
    assert (folder / "Big 0.jpg").read_bytes() == data
    assert not image_requests(server.counts())


def test_concurrent_readers_share_one_download(big):
    server, m, folder, pics = big
    data = pics["Big 1"]
    server.fault(route="GET /img", action="stall", bytes=512 * KIB, ms=1000)
    got = [None] * 4

    def read(i):
        with open(folder / "Big 1.jpg", "rb", buffering=0) as f:
            got[i] = f.read(len(data) + 1)
            while chunk := f.read(MIB):   # a read may end early only at the end of the file
                got[i] += chunk

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(got))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(g == data for g in got)
    assert len(requests_on(server, "GET /img")) == 1


def test_thumbnailer_fetches_little_more_than_it_reads(big):
    server, m, folder, pics = big
    n = len(pics)
    # Each transfer pauses after 512 KiB: long enough for the reader to be gone.
    server.fault(route="GET /img", action="stall", bytes=512 * KIB, ms=1500, count=n)
    t0 = time.monotonic()
    for title, data in pics.items():
        with open(folder / f"{title}.jpg", "rb", buffering=0) as f:
            assert f.read(64 * KIB) == data[:64 * KIB]
    assert time.monotonic() - t0 < 1.5   # no read waited for a stall
    time.sleep(2.5)                       # the stalls end; the cut transfers are over
    assert len(requests_on(server, "GET /img")) == n
    files = cache_files(m)
    assert all(f.endswith(".part") for f in files), files   # no whole image kept
    assert 0 < sum(files.values()) <= n * 768 * KIB, files
    # A later read resumes a stopped download where its .part ends.
    server.reset_counts()
    assert (folder / "Big 2.jpg").read_bytes() == pics["Big 2"]
    ranges = [r.get("range") for r in requests_on(server, "GET /img")]
    assert len(ranges) == 1 and ranges[0] and ranges[0] != "bytes=0-", ranges
    assert sum(1 for f in cache_files(m) if not f.endswith(".part")) == 1


def test_cut_image_resumes_or_fails_with_eio_never_short(big):
    server, m, folder, pics = big
    m.expect_log(r"download of .* failed|Transferred a partial file")
    server.fault(route="GET /img", action="truncate", bytes=300_000)
    assert (folder / "Big 0.jpg").read_bytes() == pics["Big 0"]
    ranges = [r.get("range") for r in requests_on(server, "GET /img")]
    assert ranges == [None, "bytes=300000-"], ranges
    # Cut every time: the bytes read are right as far as they go, then EIO, never an end.
    data = pics["Big 1"]
    server.fault(route="GET /img", action="truncate", bytes=200_000, count=50)
    got = b""
    with pytest.raises(OSError) as e:
        with open(folder / "Big 1.jpg", "rb", buffering=0) as f:
            while True:
                chunk = f.read(128 * KIB)
                assert chunk, f"end of file after {len(got)} of {len(data)} bytes"
                got += chunk
    assert e.value.errno == errno.EIO
    assert data.startswith(got)
    # later reads fail alike until the server behaves; nothing half-made is kept
    assert not [f for f in cache_files(m) if "Big" in f or f.endswith(".part")]
    server.admin("DELETE", "faults")
    assert (folder / "Big 1.jpg").read_bytes() == data


# ---- 2. cp: a new pin's size and bytes are known without asking ----

def test_cp_of_new_images_sends_no_image_request(fake, mount, tmp_path):
    server = fake(SEED)
    m = mount(server)
    board = first_board(server)
    folder = m.path("boards", board["name"])
    subprocess.run(["ls", "-l", str(folder)], check=True, capture_output=True)
    sources = []
    for i, color in enumerate([(200, 20, 20), (20, 200, 20), (20, 20, 200)]):
        src = tmp_path / f"copied {i}.jpg"
        src.write_bytes(small_jpeg(color, (64 + 16 * i, 48)))
        sources.append(src)
    server.reset_counts()
    for src in sources:   # one after another, each cp's stat after close included
        subprocess.run(["cp", str(src), str(folder) + "/"], check=True)
    c = server.counts()
    assert c.get("POST /v5/pins") == 3 and not image_requests(c), c
    ls = subprocess.run(["ls", "-l", str(folder)], check=True, capture_output=True, text=True)
    sizes = {line.split(None, 8)[8]: int(line.split()[4])
             for line in ls.stdout.splitlines()[1:]}
    for src in sources:
        assert sizes[src.name] == src.stat().st_size
        assert (folder / src.name).read_bytes() == src.read_bytes()
    assert not image_requests(server.counts())


def test_cp_with_another_image_size_reads_back_what_was_written(fake, mount, tmp_path):
    """-o image_size=600x shows Pinterest's scaled images, but a file copied in reads back the
    bytes written (the per-pin store), with no image request: the file you wrote is the file
    you read, which rsync and cmp rely on. Its sidecar names the scaled image."""
    server = fake(SEED)
    m = mount(server, opts=("image_size=600x",))
    folder = m.path("boards", first_board(server)["name"])
    src = tmp_path / "scaled.jpg"
    src.write_bytes(small_jpeg((10, 120, 240), (900, 700)))
    subprocess.run(["cp", str(src), str(folder) + "/"], check=True)
    url = json.loads((folder / "scaled.json").read_text())["image"]["url"]
    assert "/600x/" in url and server.fetch(url) != src.read_bytes()
    server.reset_counts()
    assert os.stat(folder / "scaled.jpg").st_size == src.stat().st_size
    assert (folder / "scaled.jpg").read_bytes() == src.read_bytes()
    assert not [r for r in server.counts() if "/img" in r]


# ---- 3. JSON sidecars: cached by the kernel, and always the text as it is now ----

def pin_files(folder):
    """(image, sidecar) of the first titled pin of folder."""
    names = sorted(os.listdir(folder))
    for n in names:
        if n.endswith(".jpg") and n[:-4] + ".json" in names and not n[0].isdigit():
            return folder / n, folder / (n[:-4] + ".json")
    raise AssertionError(f"no pin in {names}")


def reads_in(log):
    return log.count("opcode: READ (")


def forgets_in(log):
    return log.count("opcode: FORGET (") + log.count("opcode: BATCH_FORGET (")


def test_json_reads_come_from_the_page_cache(fake, mount):
    server = fake(SEED)
    m = mount(server, args=("-d",))   # -d: libfuse logs every request the kernel sends
    folder = m.path("boards", first_board(server)["name"])
    names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    mark = len(m.log())
    cold = {n: (folder / n).read_bytes() for n in names}
    # Cold too: the open puts the text in the page cache before it answers.
    assert reads_in(m.log()[mark:]) == 0, "cold reads of listed sidecars reached the daemon"
    ids = {p["id"] for p in server.state()["pins"]}
    assert all(json.loads(cold[n])["id"] in ids for n in names if n != ".board.json")
    mark = len(m.log())
    warm = {n: (folder / n).read_bytes() for n in names}
    assert warm == cold
    assert reads_in(m.log()[mark:]) == 0, "warm reads reached the daemon"
    r = subprocess.run(["fincore", "-nb", "-o", "RES", str(folder / names[0])],
                       capture_output=True, text=True)
    if r.returncode == 0:
        assert int(r.stdout.split()[0]) > 0


def test_json_reads_after_the_kernel_forgot_the_files_need_no_read(fake, mount):
    """An inode the kernel evicts takes its pages with it: the sidecar's next open, at a new
    inode, must put the text in the page cache again rather than trust pages that went."""
    server = fake(SEED)
    m = mount(server, args=("-d",))
    folder = m.path("boards", first_board(server)["name"])
    names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    first = {n: (folder / n).read_bytes() for n in names}
    forgets = forgets_in(m.log())
    # Unused dentries and inodes go: the kernel sends FORGET (or BATCH_FORGET) for them.
    subprocess.run(["sh", "-c", "echo 2 > /proc/sys/vm/drop_caches"], check=True)
    deadline = time.monotonic() + 5
    while forgets_in(m.log()) == forgets and time.monotonic() < deadline:
        time.sleep(0.05)
    assert forgets_in(m.log()) > forgets, "the kernel forgot nothing"
    # The kernel sends its forgets in batches, after any request: wait for the last.
    settled = forgets_in(m.log())
    while time.monotonic() < deadline:
        time.sleep(0.3)
        if forgets_in(m.log()) == settled:
            break
        settled = forgets_in(m.log())
    mark = len(m.log())
    again = {n: (folder / n).read_bytes() for n in names}
    assert again == first
    assert reads_in(m.log()[mark:]) == 0, "reads of forgotten sidecars reached the daemon"


def test_json_shows_local_changes_at_once(fake, mount):
    server = fake(SEED)
    m = mount(server)
    folder = m.path("boards", first_board(server)["name"])
    image, sidecar = pin_files(folder)
    pin_id = json.loads(sidecar.read_text())["id"]

    def shown():
        sidecar.read_text()   # a second read, so the text is in the page cache
        return json.loads(sidecar.read_text())

    def on_server():
        return next(p for p in server.state()["pins"] if p["id"] == pin_id)

    shown()
    # an edit written through the mount, of another length
    edited = json.loads(sidecar.read_text())
    edited["description"] = "Written through the mount"
    sidecar.write_text(json.dumps(edited, indent=2, ensure_ascii=False) + "\n")
    assert shown()["description"] == "Written through the mount"
    # setxattr on the image: the sidecar's text changes, its length does not
    length = len(sidecar.read_bytes())
    os.setxattr(image, "user.pinterest.description", b"Written through the xattr")
    assert shown()["description"] == "Written through the xattr"
    assert len(sidecar.read_bytes()) == length
    # and of another length, read within the second the kernel trusts the old size: the
    # whole text, not cut at the size the kernel remembers
    os.setxattr(image, "user.pinterest.description", b"Longer: written through the xattr")
    text = sidecar.read_text()
    assert json.loads(text)["description"] == "Longer: written through the xattr"
    assert sidecar.read_text() == text
    # sed -i: a new file renamed over the sidecar, same length
    subprocess.run(["sed", "-i", "s/Longer: written/Longer: WRITTEN/", str(sidecar)], check=True)
    assert shown()["description"] == "Longer: WRITTEN through the xattr"
    assert on_server()["description"] == "Longer: WRITTEN through the xattr"
    # mv renames the pin: its sidecar shows the new title under its new name
    os.rename(image, folder / "Renamed here.jpg")
    moved = folder / "Renamed here.json"
    moved.read_text()
    assert json.loads(moved.read_text())["title"] == "Renamed here"


def test_an_open_sidecar_reads_its_text_after_its_pin_is_renamed(fake, mount):
    """An open file reads what it held when opened, even when the read reaches the daemon
    after a rename took its path away."""
    server = fake(SEED)
    m = mount(server, args=("-d",))
    folder = m.path("boards", first_board(server)["name"])
    image, sidecar = pin_files(folder)
    pin_id = json.loads(sidecar.read_text())["id"]
    # Of another length than the size the kernel has: the open is direct_io, every read
    # reaches the daemon.
    os.setxattr(image, "user.pinterest.description", b"Longer than it was, set through the mount")
    with open(sidecar, "rb") as f:
        os.rename(image, folder / "Renamed while open.jpg")
        got = json.loads(f.read())
    assert got["id"] == pin_id
    assert got["description"] == "Longer than it was, set through the mount"
    # Served by the page cache at open, whose pages the kernel then drops: the read that
    # follows reaches the daemon.
    moved = folder / "Renamed while open.json"
    moved.read_text()
    moved.read_text()
    with open(moved, "rb") as f:
        os.rename(folder / "Renamed while open.jpg", folder / "Renamed again.jpg")
        subprocess.run(["sh", "-c", "echo 3 > /proc/sys/vm/drop_caches"], check=False)
        mark = len(m.log())
        got = json.loads(f.read())
    assert got["id"] == pin_id and got["title"] == "Renamed while open"
    assert reads_in(m.log()[mark:]) > 0, "the kernel kept the pages: the read never reached pinfs"


def test_json_shows_remote_changes_after_the_ttl(fake, mount):
    server = fake(SEED)
    m = mount(server, opts=("dir_cache_ttl=1",))
    folder = m.path("boards", first_board(server)["name"])
    _, sidecar = pin_files(folder)
    pin_id = json.loads(sidecar.read_text())["id"]
    for desc in ("Changed on the server", "Changed on the SERVER", "Changed again, longer"):
        sidecar.read_text()
        before = sidecar.read_text()
        server.v5("PATCH", f"/pins/{pin_id}", {"description": desc})
        time.sleep(1.5)
        text = sidecar.read_text()
        assert json.loads(text)["description"] == desc
        assert json.loads(sidecar.read_text())["description"] == desc
        if desc == "Changed on the SERVER":   # the same length as the text before
            assert len(text) == len(before) and text != before


def wakeups(pid, name=None):
    """Voluntary context switches of pid's threads (those called name, when given): each a
    wake-up from a wait."""
    total, seen = 0, False
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if name is not None and f.read().strip() != name:
                    continue
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                total += next(int(line.split()[1]) for line in f
                              if line.startswith("voluntary_ctxt_switches:"))
            seen = True
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    assert seen, f"no thread {name} in pinfs"
    return total


def test_an_idle_mount_seldom_wakes_its_forgetter(fake, mount):
    """The count of names looked up is watched every 250 ms during a walk; an idle mount backs
    off to every 2 s, instead of waking the machine four times a second."""
    server = fake("boards=2,pins=20,sections=0")
    m = mount(server)
    os.listdir(m.path("boards"))
    time.sleep(4)   # long enough to back off
    before = wakeups(m.proc.pid, "pinfs-forget")
    time.sleep(6)
    woke = wakeups(m.proc.pid, "pinfs-forget") - before
    assert woke <= 4, f"the forgetter woke {woke} times in 6 s of idleness"


def test_a_long_walk_lets_the_kernel_forget_and_nothing_breaks(fake, mount):
    """Past 30 000 names looked up (or described by a listing) pinfs asks the kernel to drop
    the dentries nothing uses, so libfuse frees its nodes. A shell sitting in boards/ or in a
    board must keep a working getcwd, and the tree must list the same afterwards, with no
    request beyond the listings."""
    # Pictures only (media=0): a JSON and a picture per pin is what the count below relies on.
    server = fake("boards=3,pins=16000,sections=0,media=0")
    m = mount(server, opts=("verbose",))
    board = sorted(os.listdir(m.path("boards")))[0]
    cwds = (m.path("boards"), m.path("boards", board))
    # Shells already in those folders when the walk starts: their getcwd is what could break.
    shells = [subprocess.Popen(["sh", "-c", "read go; /bin/pwd -P"], cwd=c, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE) for c in cwds]
    first = subprocess.run(["ls", "-lR", str(m.path("boards"))], capture_output=True,
                           text=True, check=True).stdout
    # Each pin's sidecar described once and its image looked up: 32 000, past the threshold.
    assert first.count(".json") >= 16000
    # The forgetting runs every 250 ms; on a busy machine its thread may wait for a while. Its
    # line comes before its pass over the folders: a second more lets the pass end (a getcwd in
    # the middle of it is what the pass itself mends, with its stat of each folder).
    deadline = time.time() + 15
    while "asking the kernel to forget" not in m.log() and time.time() < deadline:
        time.sleep(0.1)
    assert "asking the kernel to forget" in m.log()
    time.sleep(1)
    for cwd, sh in zip(cwds, shells):
        out, err = sh.communicate("go\n", timeout=30)
        assert sh.returncode == 0, err
        assert out.strip() == str(cwd)
    server.reset_counts()
    again = subprocess.run(["ls", "-lR", str(m.path("boards"))], capture_output=True,
                           text=True, check=True).stdout
    assert again == first
    # Within the TTL: the names come back from pinfs's own tree, not from the server.
    assert image_requests(server.counts()) == {}
    assert not [k for k in server.counts() if k.startswith("GET /boards")]


def opcodes(log, name):
    return log.count(f"opcode: {name} (")


def test_ls_l_asks_no_security_label_or_acl_of_each_file(fake, mount):
    """ls -l asks every file's security.selinux and system.posix_acl_access; pinfs has user.*
    attributes only and says ENOTSUP, which makes ls stop asking on the mount: a warm ls -l is
    then a listing, not two round trips per file."""
    server = fake(SEED)
    m = mount(server, args=("-d",))
    folder = m.path("boards", first_board(server)["name"])
    names = os.listdir(folder)
    subprocess.run(["ls", "-l", str(folder)], check=True, capture_output=True)
    mark = len(m.log())
    subprocess.run(["ls", "-l", str(folder)], check=True, capture_output=True)
    assert opcodes(m.log()[mark:], "GETXATTR") <= 2 < len(names)
    some = folder / sorted(names)[-1]
    for name in ("security.selinux", "system.posix_acl_access", "trusted.x"):
        with pytest.raises(OSError) as e:
            os.getxattr(some, name)
        assert e.value.errno == errno.ENOTSUP, name
    assert os.getxattr(some, "user.pinterest.id")


def test_a_listing_gives_the_sidecars_attributes_so_reading_them_needs_no_lookup(fake, mount):
    """readdirplus: a board's listing carries what pinfs knows without a request (sidecars,
    folders, images of known size), so grep opens each file without a LOOKUP; images of
    unknown size go bare, and listing them sends no HEAD."""
    server = fake("boards=1,pins=120,sections=1")
    m = mount(server, args=("-d",))
    board = m.path("boards", first_board(server)["name"])
    server.reset_counts()
    mark = len(m.log())
    out = subprocess.run(["grep", "-rl", "needle-in-no-pin", str(board), "--include=*.json"],
                         capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    log = m.log()[mark:]
    jsons = [p for p in board.rglob("*.json")]
    assert len(jsons) > 120
    assert opcodes(log, "READDIRPLUS") >= 1
    assert opcodes(log, "LOOKUP") <= 2, "grep looked up the files the listing described"
    assert image_requests(server.counts()) == {}
    # What the listing said is what stat and read say.
    for p in jsons[:20]:
        assert os.stat(p).st_size == len(p.read_bytes())
    # An image of unknown size: its size is learnt (HEADs of the folder) at the first stat.
    image = next(p for p in board.iterdir() if p.suffix in (".jpg", ".png", ".gif"))
    assert os.stat(image).st_size == len(image.read_bytes()) > 0


def test_a_listing_past_many_entries_resumes_where_the_kernel_stopped(fake, mount):
    """The tree's folders are handed over a buffer at a time, each call starting after the
    last entry the kernel took: every name once, in order, in a folder of thousands."""
    server = fake("boards=1,pins=3000,sections=0,media=0")   # pictures only: two names a pin
    m = mount(server)
    board = m.path("boards", first_board(server)["name"])
    names = os.listdir(board)
    assert len(names) == len(set(names)) == 1 + 2 * 3000
    assert names[0] == ".board.json"
    assert sorted(names) == sorted(subprocess.run(["ls", "-a", str(board)], capture_output=True,
                                                  text=True, check=True).stdout.split("\n")[2:-1])


def test_a_walk_of_the_whole_mount_lists_the_other_folders_beside_the_boards(fake, mount):
    """find MOUNT reads the root, then boards/ and one board after another: pinfs then lists
    pins/ in the background, beside the boards instead of after the last one, and the people
    folders side by side once the walk leaves boards/. A walk of boards/ alone asks none of
    them, and no list is asked twice."""
    # Boards of two pages each, and pins/ a walk of 12: every board is listed from the first
    # one the walker opens, so the boards' last page must come late enough to be compared.
    server = fake("boards=6,pins=3000,sections=2", "--latency-ms", "50")
    m = mount(server)
    server.reset_counts()
    subprocess.run(["find", str(m.path("boards")), "-name", "*.json"], check=True,
                   capture_output=True)
    assert by_route(server, "GET /v5/pins") == 0
    assert by_route(server, "GET /v5/user_account/followers") == 0

    m2 = mount(server)
    server.reset_counts()
    found = subprocess.run(["find", str(m2.dir), "-name", "*.json"], check=True,
                           capture_output=True, text=True).stdout
    assert "/boards/" in found
    log = server.admin("GET", "requests")["requests"]
    pins = [r["t"] for r in log if r["route"] == "GET /v5/pins"]
    boards = [r["t"] for r in log if r["route"] == "GET /v5/boards/{board_id}/pins"]
    assert pins and boards
    assert min(pins) < max(boards), "pins/ was listed only after every board"
    mine = len(server.state()["pins"])
    assert len(pins) == (mine + 249) // 250   # one walk of GET /pins, page by page
    for route in ("GET /v5/user_account/followers", "GET /v5/user_account/following",
                  "GET /v5/user_account/following/boards"):
        assert by_route(server, route) == 1, route


def test_unmounting_ends_the_background_walks(fake, mount):
    """A walk of the whole mount stopped early (Ctrl-C) leaves pins/ and the next boards
    being listed in the background; unmounting ends them, instead of waiting for their last
    page (pins/ of 100 000 pins is 400 pages)."""
    server = fake("boards=6,pins=3000,sections=0", "--latency-ms", "300")
    m = mount(server)
    server.reset_counts()
    # What find does first: the root, boards/, then two boards, in one thread.
    os.listdir(m.dir)
    boards = sorted(os.listdir(m.path("boards")))
    os.listdir(m.path("boards", boards[0]))
    os.listdir(m.path("boards", boards[1]))
    assert by_route(server, "GET /v5/pins") >= 1, "pins/ was not listed ahead"
    m.unmount()
    assert m.proc.returncode == 0
    pages = (len(server.state()["pins"]) + 249) // 250
    asked = by_route(server, "GET /v5/pins")
    # A page under way may still be answered; nothing is asked after the unmount.
    time.sleep(0.5)
    assert by_route(server, "GET /v5/pins") == asked
    assert asked < pages, f"the whole of pins/ was listed ({asked} pages) before the exit"


def by_route(server, route):
    return server.counts().get(route, 0)


def test_boards_are_listed_beside_the_token_check(fake, mount):
    """The mount lists boards/ while it checks the token, not after: one round trip of
    latency before `ls boards` answers, and that ls sends nothing."""
    server = fake("boards=4,pins=20,sections=0", "--latency-ms", "300")
    m = mount(server)
    log = server.admin("GET", "requests")["requests"]
    me = [r["t"] for r in log if r["route"] == "GET /v5/user_account"]
    boards = [r["t"] for r in log if r["route"] == "GET /v5/boards"]
    assert len(me) == 1 and len(boards) == 1
    # Answers are stamped when ready: one after the other, they would be 300 ms apart.
    assert boards[0] < me[0] + 0.25, "the boards list waited for the token check"
    server.reset_counts()
    names = os.listdir(m.path("boards"))
    assert len(names) == len(server.state()["boards"]) == 4
    assert server.counts() == {}


def test_a_stat_waits_for_its_own_size_not_the_whole_folders(fake, mount):
    """The first size asked in a folder starts the HEADs of all its unknown sizes (the sweep),
    the asker's own image first, in the background: a stat (an fstat after open, as Python's
    open does) goes on as soon as its own size is known, while the rest of the folder is
    learnt. Every size is learnt once, and ls -l afterwards asks nothing."""
    server = fake("boards=1,pins=200,sections=0", "--latency-ms", "50")
    m = mount(server)
    board = m.path("boards", first_board(server)["name"])
    images = pictures(board)
    assert len(images) > 100
    server.reset_counts()
    target = board / images[-1]
    with open(target, "rb") as f:
        head = f.read(1024)
    assert head
    deadline = time.time() + 30
    while len(requests_on(server, "HEAD /img")) < len(images) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)
    log = server.admin("GET", "requests")["requests"]
    heads = [r["t"] for r in log if r["route"] == "HEAD /img"]
    gets = [r["t"] for r in log if r["route"] == "GET /img"]
    assert len(heads) == len(images)   # every size learnt, once
    assert gets, "the image was not fetched"
    # 16 HEADs at a time, 50 ms each: the last answer comes several rounds after the open's GET.
    assert min(gets) < max(heads), "the stat waited for every size of the folder"
    server.reset_counts()
    subprocess.run(["ls", "-l", str(board)], capture_output=True, check=True)
    assert image_requests(server.counts()) == {}
    assert target.stat().st_size == len(target.read_bytes()) > 0


def read_head(path, n):
    """A thumbnailer's read: open, read the first n bytes, close; no stat."""
    fd = os.open(path, os.O_RDONLY)
    try:
        got = b""
        while len(got) < n:
            b = os.read(fd, n - len(got))
            if not b:
                break
            got += b
        return got
    finally:
        os.close(fd)


def test_opening_an_image_of_unknown_size_asks_no_size(fake, mount):
    """A listed image whose size is not known yet is opened and read without a HEAD: neither
    the listing (readdirplus) nor a lookup learns its size, and the kernel keeps no size for
    it, so that a stat afterwards still learns the right one."""
    server = fake("boards=1,pins=40,sections=0")
    m = mount(server)
    board = m.path("boards", first_board(server)["name"])
    images = pictures(board)
    server.reset_counts()
    heads = [read_head(board / n, 64 * KIB) for n in images[:10]]
    assert all(heads)
    # Looked up by name, never listed: the same.
    m2 = mount(server)
    board2 = m2.path("boards", first_board(server)["name"])
    assert read_head(board2 / images[-1], 100)
    counts = server.counts()
    assert "HEAD /img" not in counts
    assert counts.get("GET /img") == 11
    # The size comes with the first stat, and is the image's.
    full = (board / images[0]).read_bytes()
    assert os.stat(board / images[0]).st_size == len(full)
    assert os.stat(board2 / images[-1]).st_size == len((board2 / images[-1]).read_bytes())


def test_rm_r_of_a_board_of_unknown_sizes_sends_no_head(fake, mount):
    """rm -r looks each file up before it removes it (it stats none): a lookup asks no size,
    so removing a board whose sizes were never asked costs its DELETEs alone."""
    server = fake("boards=1,pins=12,sections=0")
    m = mount(server)
    b = first_board(server)
    os.listdir(m.path("boards", b["name"]))
    server.reset_counts()
    subprocess.run(["rm", "-r", str(m.path("boards", b["name"]))], check=True)
    counts = server.counts()
    assert image_requests(counts) == {}
    assert counts.get("DELETE /v5/pins/{pin_id}") == b["pin_count"]
    assert counts.get("DELETE /v5/boards/{board_id}") == 1
    assert b["name"] not in os.listdir(m.path("boards"))


# -- the FUSE loop (loop.h): one reader that looks for work a moment before it sleeps --

def read_each(paths):
    for p in paths:
        with open(p, "rb") as f:
            f.read()


def fuse_stats(m):
    return json.loads(m.path(".pinfs", "stats").read_text())["fuse"]


def test_a_stream_of_opens_does_not_wake_pinfs_for_each(fake, mount):
    """grep -r opens and closes one sidecar after another, microseconds apart. pinfs's reader
    looks for the next request a moment before it sleeps: the stream costs it few wake-ups,
    and .pinfs/stats says most requests were found that way. libfuse's loop (spin_us=0)
    sleeps in read(2) and is woken for every OPEN and RELEASE."""
    server = fake("boards=1,pins=300,sections=0")
    woke = {}
    for opts in ((), ("spin_us=0",)):
        m = mount(server, opts=opts)
        board = m.path("boards", os.listdir(m.path("boards"))[0])
        sidecars = [board / n for n in os.listdir(board) if n.endswith(".json")]
        read_each(sidecars)  # listed, and the pages cached: no request but OPEN and RELEASE
        time.sleep(0.5)
        stats = fuse_stats(m)
        before = wakeups(m.proc.pid)
        for _ in range(3):
            read_each(sidecars)
        woke[opts] = wakeups(m.proc.pid) - before
        if not opts:
            after = fuse_stats(m)
            read = after["requests"] - stats["requests"]
            found = after["found_looking"] - stats["found_looking"]
            assert read >= 2 * 3 * len(sidecars)
            assert found > read * 3 / 4, after
        m.unmount()
    opens = 3 * len(sidecars)
    assert woke[("spin_us=0",)] >= opens, woke
    assert woke[()] < opens / 4, f"{woke[()]} wake-ups for {opens} opens"


def test_requests_far_apart_are_not_looked_for(fake, mount):
    """Requests that come one at a time, milliseconds apart, are not worth looking for: the
    reader's window closes, and the time it spends looking stays a small part of what a
    fixed 50 µs window after each request would cost (a getxattr is one request each time:
    the kernel keeps no attribute values)."""
    server = fake("boards=1,pins=120,sections=0")
    m = mount(server)
    board = m.path("boards", os.listdir(m.path("boards"))[0])
    images = [board / n for n in os.listdir(board) if not n.endswith(".json")]
    os.getxattr(images[0], "user.pinterest.id")
    time.sleep(0.5)
    before = fuse_stats(m)
    for p in images:
        os.getxattr(p, "user.pinterest.id")
        time.sleep(0.005)
    after = fuse_stats(m)
    read = after["requests"] - before["requests"]
    looked = after["look_seconds"] - before["look_seconds"]
    assert read >= len(images)
    # Half of a fixed window: even a closed window costs each request one read of the device
    # that finds nothing, up to 14 µs on a virtual machine (a fixed window: 7 ms here).
    assert looked < read * 50e-6 / 2, f"looked {looked * 1e3:.2f} ms for {read} requests"


@pytest.mark.parametrize("held", [1, 5, 9])
def test_a_request_that_waits_does_not_hold_back_the_others(fake, mount, held):
    """Board listings held 3 s by the server, up to nine (pinfs serves ten requests at once):
    the thread serving each hands the reading over, and another board, its JSON and the
    boards folder are served meanwhile."""
    server = fake(f"boards={held + 1},pins=12,sections=0")
    m = mount(server)
    boards = {path.split("/")[1]: b["id"] for path, (kind, b) in
              expected_tree(server.state()).items() if kind == "board"}
    names = sorted(os.listdir(m.path("boards")))
    slow, quick = names[:held], names[held]
    for name in slow:
        server.fault(route="GET /v5/boards/{board_id}/pins", action="delay", ms=3000,
                     path=f"/v5/boards/{boards[name]}/pins")
    waiting = [threading.Thread(target=os.listdir, args=(m.path("boards", n),)) for n in slow]
    for t in waiting:
        t.start()
    time.sleep(0.5)  # all asked for and held
    assert all(t.is_alive() for t in waiting)
    assert any(n.endswith(".json") for n in os.listdir(m.path("boards", quick)))
    assert json.loads(m.path("boards", quick, ".board.json").read_text())["name"] == quick
    assert sorted(os.listdir(m.path("boards"))) == names
    assert all(t.is_alive() for t in waiting), "served only once the slow listings were done"
    for t in waiting:
        t.join(30)
    assert not any(t.is_alive() for t in waiting)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_mount(fake, mount, sig):
    """SIGTERM or SIGINT (Ctrl-C in the foreground) unmounts, and pinfs exits with 0, whether
    its reader is asleep or busy with a stream of requests."""
    server = fake("boards=1,pins=40,sections=0")
    for busy in (False, True):
        m = mount(server, opts=("verbose",))
        board = m.path("boards", os.listdir(m.path("boards"))[0])
        sidecars = [board / n for n in os.listdir(board) if n.endswith(".json")]
        stop = threading.Event()

        def stream():
            while not stop.is_set():
                try:
                    read_each(sidecars)
                except OSError:
                    return  # the mount went away under it
        reader = threading.Thread(target=stream)
        held = []
        if busy:
            reader.start()
            time.sleep(0.3)
        else:
            # A file and a folder open when the mount ends get no RELEASE: pinfs frees their
            # handles itself (the ASan build checks).
            held = [os.open(sidecars[0], os.O_RDONLY), os.open(board, os.O_RDONLY)]
            time.sleep(0.5)  # the reader sleeps
        m.proc.send_signal(sig)
        assert m.proc.wait(20) == 0
        stop.set()
        if busy:
            reader.join(20)
        for fd in held:
            os.close(fd)
        assert not m.mounted()
        if held:
            assert "the mount ended with files open: 1, folders open: 1" in m.log()


def test_an_idle_mount_goes_quiet_after_a_burst(fake, mount):
    """After a stream of requests the reader sleeps and the thread that timed it stops too:
    an idle mount wakes only for the forgetter's look every 2 s."""
    server = fake("boards=1,pins=100,sections=0")
    m = mount(server)
    board = m.path("boards", os.listdir(m.path("boards"))[0])
    read_each([board / n for n in os.listdir(board) if n.endswith(".json")])
    time.sleep(4)  # the forgetter backs off
    before = wakeups(m.proc.pid)
    time.sleep(6)
    woke = wakeups(m.proc.pid) - before
    assert woke <= 6, f"pinfs woke {woke} times in 6 s of idleness"
