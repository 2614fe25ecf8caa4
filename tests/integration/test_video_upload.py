"""Video pins: `cp clip.mp4 boards/X/` registers a media upload (POST /v5/media), sends the file
to the storage host as multipart/form-data without the Pinterest token, polls GET
/v5/media/{id} until it is processed, then makes the pin (POST /v5/pins with video_id). Each
test checks what the fake server then holds and what cp or close() was told: one pin or none,
never two, never a pin without its video, never a file sent twice."""

import errno
import hashlib
import json
import os
import random
import re
import signal
import struct
import subprocess
import time

import pytest

SEED = "boards=3,pins=12,sections=1"   # boards Recipes, Travel, "Art / Illustration"
MIB = 1 << 20
GIB = 1 << 30


def box(kind, payload):
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def video(size, brand=b"isom", seed=1):
    """An MP4 (or, with brand "qt  ", a QuickTime file) of about `size` bytes: ftyp, the media
    data (random bytes), then the movie header, as a camera writes them."""
    rng = random.Random(seed)
    ftyp = box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"isomavc1")
    # mvhd: version 0, times, timescale 1000, duration 4000 ms, then the rest zero.
    mvhd = box(b"mvhd", bytes(4) + struct.pack(">IIII", 0, 0, 1000, 4000) + bytes(80))
    moov = box(b"moov", mvhd)
    mdat = box(b"mdat", rng.randbytes(max(0, size - len(ftyp) - len(moov) - 8)))
    return ftyp + mdat + moov


def board_id(server, name):
    return next(b["id"] for b in server.state()["boards"] if b["name"] == name)


def pins(server):
    return {p["id"]: p for p in server.state()["pins"]}


def media(server):
    return server.admin("GET", "media")["media"]


def requests(server, route):
    return [r for r in server.admin("GET", "requests")["requests"] if r["route"] == route]


def stats(m):
    return json.loads(m.path(".pinfs", "stats").read_text())


def cp(src, dest):
    return subprocess.run(["cp", str(src), str(dest)], capture_output=True, text=True)


def sidecar_of(folder, pin_id):
    """The name (without extension) of the pin's files in folder."""
    for n in os.listdir(folder):
        if n.endswith(".json") and n != ".board.json":
            if json.loads((folder / n).read_text()).get("id") == pin_id:
                return n[:-5]
    raise AssertionError(f"no sidecar of {pin_id} in {os.listdir(folder)}")


@pytest.fixture
def video_mount(fake, mount):
    """A server with the seed, and a way to mount it with -v (the upload's steps are logged)."""
    server = fake(SEED)

    def mount_it(*opts):
        return mount(server, opts, args=("-v",))
    return server, mount_it


def nothing_sent(server, before):
    counts = server.counts()
    for route in ("POST /v5/media", "POST /_media_upload", "POST /v5/pins"):
        assert route not in counts, counts
    assert set(pins(server)) == set(before)


def made_one_video_pin(server, before, data, title, board="Travel"):
    """The one new pin on the server: a video pin of data, titled title; returns it."""
    new = [p for i, p in pins(server).items() if i not in before]
    assert len(new) == 1, new
    [pin] = new
    assert pin["title"] == title and pin["board_id"] == board_id(server, board)
    assert pin["media"]["media_type"] == "video"
    assert server.fetch(pin["media"]["video_url"]) == data
    return pin


# ---- the way it works ----

def test_cp_of_an_mp4_makes_one_video_pin(video_mount, tmp_path):
    server, mount_it = video_mount
    m = mount_it()
    data = video(3 * MIB)
    src = tmp_path / "clip.mp4"
    src.write_bytes(data)
    travel = m.path("boards", "Travel")
    before = pins(server)
    os.listdir(travel)
    server.reset_counts()
    r = cp(src, travel)
    assert r.returncode == 0, r.stderr
    counts = server.counts()
    assert counts["POST /v5/media"] == 1 and counts["POST /_media_upload"] == 1
    assert counts["POST /v5/pins"] == 1 and counts["GET /v5/media/{media_id}"] >= 2
    # The upload: every signed field (a missing or changed one is a 403), the file last, no
    # Authorization (a 400): the storage host stored it once.
    [upload] = requests(server, "POST /_media_upload")
    assert upload["status"] == 204 and upload["bytes"] == len(data) and "refused" not in upload
    [record] = media(server)
    assert record["uploads"] == 1 and record["refused_uploads"] == 0
    assert record["size"] == len(data) and record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["status"] == "succeeded" and record["brand"] == "isom"
    pin = made_one_video_pin(server, before, data, "clip")
    assert record["pin_id"] == pin["id"]
    [create] = requests(server, "POST /v5/pins")
    assert create["media_id"] == record["media_id"]
    # The mount shows the pin, and reads back the very bytes written.
    name = sidecar_of(travel, pin["id"])
    assert name == "clip"
    shown = sorted(n for n in os.listdir(travel) if n.startswith("clip.") and n != "clip.json")
    # The video under the name it was given, and Pinterest's cover of it beside it.
    assert shown == ["clip.jpg", "clip.mp4"], shown
    assert (travel / "clip.mp4").read_bytes() == data
    assert (travel / "clip.jpg").read_bytes() == server.fetch(pin["media"]["images"]["originals"]["url"])
    # -v: a line per step, none naming a signed field's value.
    log = m.log()
    for step in (r"media \d+ registered", r"sending 3\.0 MiB to Pinterest's storage",
                 r"3\.0 MiB sent in", r"media \d+ processing", r"the video is ready after",
                 r"video pin \d+ made"):
        assert re.search(r'upload of "clip": ' + step, log), step
    # The fake's policy is base64 JSON ("eyJ..."), its credential ends in aws4_request.
    assert "eyJ" not in log and "aws4_request" not in log and "x-amz" not in log.lower()
    s = stats(m)
    assert s["media"] == {"registered": 1, "uploaded": 1, "uploaded_bytes": len(data),
                          "ready": 1, "failed": 0}
    assert s["uploads"]["done"] == 1
    assert s["requests"]["by_route"]["POST upload_url"] == 1


def test_a_quicktime_file_makes_a_video_pin(video_mount, tmp_path):
    server, mount_it = video_mount
    m = mount_it()
    data = video(200_000, brand=b"qt  ", seed=2)
    src = tmp_path / "Holiday Clip.MOV"
    src.write_bytes(data)
    before = pins(server)
    server.reset_counts()
    r = cp(src, m.path("boards", "Travel"))
    assert r.returncode == 0, r.stderr
    made_one_video_pin(server, before, data, "Holiday Clip")
    [record] = media(server)
    assert record["brand"] == "qt  " and record["uploads"] == 1
    assert server.counts()["POST /_media_upload"] == 1


def test_a_video_in_a_section_carries_its_text(video_mount, tmp_path):
    """Title, description, link and alt text set on the file (cp -a, setfattr) go into the
    POST /pins, and the pin lands in the section."""
    server, mount_it = video_mount
    m = mount_it()
    bid = board_id(server, "Recipes")
    [section] = server.state()["sections"][bid]
    folder = m.path("boards", "Recipes", section["name"])
    data = video(100_000, seed=3)
    before = pins(server)
    dest = folder / "x.mp4"
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.setxattr(dest, "user.pinterest.title", b"Pasta, filmed")
        os.setxattr(dest, "user.pinterest.description", b"How it is made")
        os.setxattr(dest, "user.pinterest.link", b"https://example.com/pasta")
        os.setxattr(dest, "user.pinterest.alt_text", b"hands and flour")
        os.write(fd, data)
    finally:
        os.close(fd)
    [pin] = [p for i, p in pins(server).items() if i not in before]
    assert (pin["title"], pin["description"], pin["link"], pin["alt_text"]) == \
        ("Pasta, filmed", "How it is made", "https://example.com/pasta", "hands and flour")
    assert pin["board_section_id"] == section["id"] and pin["media"]["media_type"] == "video"
    assert server.fetch(pin["media"]["video_url"]) == data


def vm_hwm(pid):
    """The process's peak resident set, in bytes (VmHWM)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_big_video_is_sent_with_memory_flat(video_mount, tmp_path):
    """96 MiB through the staging file, the form and the storage host: pinfs's peak grows by a
    few MiB, not by the file (a 2 GB video is sent the same way)."""
    server, mount_it = video_mount
    m = mount_it()
    data = video(96 * MIB, seed=8)
    src = tmp_path / "big.mp4"
    src.write_bytes(data)
    travel = m.path("boards", "Travel")
    os.listdir(travel)
    before = pins(server)
    base = vm_hwm(m.proc.pid)
    t0 = time.monotonic()
    r = cp(src, travel)
    took = time.monotonic() - t0
    peak = vm_hwm(m.proc.pid)
    assert r.returncode == 0, r.stderr
    assert peak - base < 16 * MIB, f"peak grew by {(peak - base) / MIB:.1f} MiB"
    made_one_video_pin(server, before, data, "big")
    print(f"\nVmHWM {base / MIB:.1f} MiB before, {peak / MIB:.1f} MiB after a "
          f"{len(data) / MIB:.0f} MiB video ({took:.1f} s)")
    # -v: a progress line every 5 s of a long transfer.
    if took > 7:
        assert re.search(r'upload of "big": [\d.]+ of 96\.0 MiB sent', m.log())


def test_shell_redirects_and_renames_make_one_pin_each(video_mount, tmp_path):
    """bash's `>` closes the empty file once before cat writes it; rsync writes a dotfile and
    renames it onto the name: each makes one pin, at the close or the rename."""
    server, mount_it = video_mount
    m = mount_it()
    travel = m.path("boards", "Travel")
    data = video(120_000, seed=9)
    src = tmp_path / "clip.mp4"
    src.write_bytes(data)
    before = pins(server)
    subprocess.run(["bash", "-c", f'cat "{src}" > "{travel}/shell.mp4"'], check=True)
    made_one_video_pin(server, before, data, "shell")
    before = pins(server)
    data2 = video(90_000, brand=b"qt  ", seed=10)
    (travel / ".synced.mov.Xa1b2").write_bytes(data2)
    os.rename(travel / ".synced.mov.Xa1b2", travel / "synced.mov")
    made_one_video_pin(server, before, data2, "synced")
    assert server.counts()["POST /_media_upload"] == 2


def test_a_cut_off_video_stays_a_local_file(video_mount, tmp_path):
    """An MP4 whose media data runs past the bytes written (a download cut short) is not whole:
    it stays a local file with its bytes, and nothing is sent."""
    server, mount_it = video_mount
    m = mount_it()
    m.expect_log(r"closed before it was a whole picture or video")
    data = video(100_000, seed=11)[:60_000]
    src = tmp_path / "cut.mp4"
    src.write_bytes(data)
    before = pins(server)
    server.reset_counts()
    r = cp(src, m.path("boards", "Travel"))
    assert r.returncode == 0, r.stderr
    nothing_sent(server, before)
    assert (m.path("boards", "Travel", "cut.mp4")).read_bytes() == data
    os.unlink(m.path("boards", "Travel", "cut.mp4"))


# ---- bad input: nothing is sent ----

def test_a_text_file_is_emediumtype(video_mount, tmp_path):
    server, mount_it = video_mount
    m = mount_it()
    m.expect_log(r"text/plain is not JPEG, PNG, MP4 or QuickTime, not uploaded")
    src = tmp_path / "notes.mp4"
    src.write_text("not a video at all\n" * 100)
    before = pins(server)
    server.reset_counts()
    r = cp(src, m.path("boards", "Travel"))
    assert r.returncode != 0 and "Wrong medium type" in r.stderr, r.stderr
    nothing_sent(server, before)
    assert media(server) == []
    assert "notes.mp4" not in os.listdir(m.path("boards", "Travel"))


def test_a_write_past_2_gib_is_efbig(video_mount):
    """A sparse file: 2 GiB exactly is written (the staging file holds a hole), one byte more is
    File too large at that write; close says so too, and the file goes."""
    server, mount_it = video_mount
    m = mount_it()
    m.expect_log(r"a write past 2 GiB was refused")
    travel = m.path("boards", "Travel")
    before = pins(server)
    server.reset_counts()
    dest = travel / "huge.mp4"
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, video(4096)[:4096])
        os.ftruncate(fd, 2 * GIB)                   # up to the limit: fine
        assert os.pwrite(fd, b"x", 2 * GIB - 1) == 1
        with pytest.raises(OSError) as e:
            os.pwrite(fd, b"x", 2 * GIB)            # the byte past it
        assert e.value.errno == errno.EFBIG
        with pytest.raises(OSError) as e:
            os.ftruncate(fd, 2 * GIB + 1)
        assert e.value.errno == errno.EFBIG
    finally:
        with pytest.raises(OSError) as e:
            os.close(fd)
    assert e.value.errno == errno.EFBIG
    nothing_sent(server, before)
    assert "huge.mp4" not in os.listdir(travel)
    # dd, as a user would: its write fails, and it says so.
    r = subprocess.run(["dd", "if=/dev/zero", f"of={travel / 'dd.mp4'}", "bs=1", "count=1",
                        f"seek={2 * GIB}"], capture_output=True, text=True)
    assert r.returncode != 0 and "File too large" in r.stderr, r.stderr
    nothing_sent(server, before)
    lines = [line for line in m.log().splitlines() if "past 2 GiB" in line]
    assert len(lines) == 2 and "huge.mp4" in lines[0] and "dd.mp4" in lines[1], lines


# ---- faults at each step ----

def test_a_refused_registration_sends_nothing_more(video_mount, tmp_path):
    server, mount_it = video_mount
    m = mount_it()
    m.expect_log(r"POST /media: HTTP 403|not uploaded \(Operation not permitted\)")
    src = tmp_path / "clip.mp4"
    src.write_bytes(video(50_000))
    before = pins(server)
    os.listdir(m.path("boards", "Travel"))
    server.fault(route="POST /v5/media", action="status", status=403,
                 body={"code": 29, "message": "You are not permitted to access that resource."})
    server.reset_counts()
    r = cp(src, m.path("boards", "Travel"))
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, r.stderr
    assert server.counts() == {"POST /v5/media": 1}
    assert set(pins(server)) == set(before) and media(server) == []
    assert stats(m)["media"]["registered"] == 0


def test_a_refused_upload_is_eio_and_sent_once(video_mount, tmp_path):
    server, mount_it = video_mount
    m = mount_it()
    m.expect_log(r"the storage host refused the file: HTTP 403 AccessDenied|not uploaded")
    src = tmp_path / "clip.mp4"
    src.write_bytes(video(50_000))
    before = pins(server)
    server.fault(route="POST /_media_upload", action="raw", status=403,
                 body_text="<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied"
                           "</Code><Message>Invalid according to Policy</Message></Error>")
    server.reset_counts()
    r = cp(src, m.path("boards", "Travel"))
    assert r.returncode != 0 and "Input/output error" in r.stderr, r.stderr
    counts = server.counts()
    assert counts["POST /v5/media"] == 1 and counts["POST /_media_upload"] == 1
    assert "POST /v5/pins" not in counts and "GET /v5/media/{media_id}" not in counts
    assert set(pins(server)) == set(before)
    [record] = media(server)
    assert record["uploads"] == 0 and record["status"] == "registered"
    assert stats(m)["media"]["failed"] == 1


def test_an_upload_answer_lost_after_the_bytes_were_stored_makes_one_pin(video_mount,
                                                                        tmp_path):
    server, mount_it = video_mount
    m = mount_it()
    data = video(400_000, seed=4)
    src = tmp_path / "clip.mp4"
    src.write_bytes(data)
    before = pins(server)
    server.fault(route="POST /_media_upload", action="close_after")
    server.reset_counts()
    r = cp(src, m.path("boards", "Travel"))
    assert r.returncode == 0, r.stderr
    [record] = media(server)
    assert record["uploads"] == 1 and record["refused_uploads"] == 0   # never sent again
    assert server.counts()["POST /_media_upload"] == 1
    assert server.counts()["POST /v5/pins"] == 1
    made_one_video_pin(server, before, data, "clip")
    assert "asking Pinterest whether the file arrived" in m.log()
    assert stats(m)["media"]["uploaded"] == 1


def test_an_upload_lost_before_it_arrived_is_eio_and_never_sent_again(video_mount, tmp_path):
    server, mount_it = video_mount
    m = mount_it("video_wait=3")
    m.expect_log(r"Pinterest has not received the file|not uploaded")
    src = tmp_path / "clip.mp4"
    src.write_bytes(video(50_000))
    before = pins(server)
    server.fault(route="POST /_media_upload", action="close")
    server.reset_counts()
    t0 = time.monotonic()
    r = cp(src, m.path("boards", "Travel"))
    took = time.monotonic() - t0
    assert r.returncode != 0 and "Input/output error" in r.stderr, r.stderr
    assert 2.5 < took < 15, took
    counts = server.counts()
    assert counts["POST /_media_upload"] == 1 and "POST /v5/pins" not in counts
    [record] = media(server)
    assert record["uploads"] == 0 and record["status"] == "registered"
    assert set(pins(server)) == set(before)


def test_processing_failed_is_eio_and_no_pin(video_mount, tmp_path):
    server, mount_it = video_mount
    m = mount_it()
    m.expect_log(r"Pinterest could not process the video|not uploaded")
    server.admin("POST", "media/settings", {"outcome": "failed"})
    src = tmp_path / "clip.mp4"
    src.write_bytes(video(50_000))
    before = pins(server)
    server.reset_counts()
    r = cp(src, m.path("boards", "Travel"))
    assert r.returncode != 0 and "Input/output error" in r.stderr, r.stderr
    counts = server.counts()
    assert counts["POST /_media_upload"] == 1 and "POST /v5/pins" not in counts
    assert set(pins(server)) == set(before)
    [record] = media(server)
    assert record["status"] == "failed" and record["pin_id"] is None
    assert stats(m)["media"] == {"registered": 1, "uploaded": 1, "uploaded_bytes": 50_000,
                                 "ready": 0, "failed": 1}


def test_processing_that_never_ends_times_out(video_mount, tmp_path):
    server, mount_it = video_mount
    m = mount_it("video_wait=2")
    m.expect_log(r"is still processing after \d+ s \(-o video_wait\)|not uploaded")
    server.admin("POST", "media/settings", {"outcome": "processing"})
    src = tmp_path / "clip.mp4"
    src.write_bytes(video(50_000))
    before = pins(server)
    server.reset_counts()
    t0 = time.monotonic()
    r = cp(src, m.path("boards", "Travel"))
    took = time.monotonic() - t0
    assert r.returncode != 0 and "Input/output error" in r.stderr, r.stderr
    assert 1.5 < took < 10, took
    counts = server.counts()
    # Polls with a growing pause: a handful in 2 s, not a busy loop.
    assert 2 <= counts["GET /v5/media/{media_id}"] <= 6, counts
    assert "POST /v5/pins" not in counts
    assert set(pins(server)) == set(before)


def test_a_lost_pin_answer_makes_one_pin(video_mount, tmp_path):
    server, mount_it = video_mount
    m = mount_it()
    m.expect_log(r"POST /pins: ")
    data = video(80_000, seed=5)
    src = tmp_path / "clip.mp4"
    src.write_bytes(data)
    travel = m.path("boards", "Travel")
    os.listdir(travel)
    before = pins(server)
    server.fault(route="POST /v5/pins", action="close_after", source_type="video_id")
    server.reset_counts()
    r = cp(src, travel)
    assert r.returncode == 0, r.stderr
    assert server.counts()["POST /v5/pins"] == 1
    pin = made_one_video_pin(server, before, data, "clip")
    assert sidecar_of(travel, pin["id"]) == "clip"
    assert "the answer was lost, the pin exists" in m.log()


def test_rate_limiting(video_mount, tmp_path):
    """A 429 is waited for and sent again; one whose Retry-After is past the retry budget is
    EAGAIN at once, with nothing sent after it."""
    server, mount_it = video_mount
    m = mount_it()
    m.expect_log(r"POST /media: HTTP 429|not uploaded \(Resource temporarily unavailable\)")
    src = tmp_path / "clip.mp4"
    data = video(60_000, seed=6)
    src.write_bytes(data)
    before = pins(server)
    server.fault(route="POST /v5/media", action="status", status=429)
    server.reset_counts()
    r = cp(src, m.path("boards", "Travel"))
    assert r.returncode == 0, r.stderr
    assert server.counts()["POST /v5/media"] == 2 and server.counts()["POST /_media_upload"] == 1
    made_one_video_pin(server, before, data, "clip")
    assert stats(m)["rate_limit"]["waits"] == 1

    before = pins(server)
    src2 = tmp_path / "later.mp4"
    src2.write_bytes(video(60_000, seed=7))
    server.fault(route="POST /v5/media", action="status", status=429,
                 headers={"Retry-After": "600"})
    server.reset_counts()
    r = cp(src2, m.path("boards", "Travel"))
    assert r.returncode != 0 and "Resource temporarily unavailable" in r.stderr, r.stderr
    assert server.counts() == {"POST /v5/media": 1}
    assert set(pins(server)) == set(before)


# ---- shells, two writers, another client ----

def test_a_dash_redirect_makes_one_video_pin(video_mount, tmp_path):
    server, mount_it = video_mount
    m = mount_it()
    travel = m.path("boards", "Travel")
    data = video(100_000, seed=21)
    src = tmp_path / "clip.mp4"
    src.write_bytes(data)
    before = pins(server)
    r = subprocess.run(["dash", "-c", f'cat "{src}" > "{travel}/dashed.mp4"'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    made_one_video_pin(server, before, data, "dashed")
    assert (travel / "dashed.mp4").read_bytes() == data


def test_two_writers_of_one_video_name_make_one_pin(video_mount, tmp_path):
    """Two cp of one new .mp4 name started together: one video pin, never two; the other cp is
    told (EBUSY while the first uploads, EPERM or EEXIST after)."""
    server, mount_it = video_mount
    m = mount_it()
    m.expect_log(r"another writer is making this pin|cannot replace a pin's")
    travel = m.path("boards", "Travel")
    srcs = []
    for i in range(2):
        p = tmp_path / f"src{i}.mp4"
        p.write_bytes(video(60_000, seed=30 + i))
        srcs.append(p)
    for rnd in range(3):
        dst = travel / f"race {rnd}.mp4"
        procs = [subprocess.Popen(["cp", str(s), str(dst)], stderr=subprocess.PIPE, text=True)
                 for s in srcs]
        results = [(p.wait(), p.stderr.read()) for p in procs]
        made = [p for p in pins(server).values() if p.get("title") == f"race {rnd}"]
        assert len(made) == 1, (rnd, results)
        ok = [i for i, (rc, _) in enumerate(results) if rc == 0]
        assert ok, results
        # What the mount shows is the bytes of a writer that was told it succeeded.
        assert server.fetch(made[0]["media"]["video_url"]) in [srcs[i].read_bytes() for i in ok]


def test_a_lost_pin_answer_never_adopts_another_clients_video(video_mount, tmp_path):
    """The pin's answer is lost and another client saved a video of the same title on the board
    meanwhile: two candidates, so pinfs cannot tell which is its own and says EIO; it never
    takes the other client's pin for its own, and never makes a second one."""
    server, mount_it = video_mount
    m = mount_it()
    m.expect_log(r"POST /pins: |the answer was lost|not uploaded")
    travel = m.path("boards", "Travel")
    os.listdir(travel)
    data = video(70_000, seed=40)
    src = tmp_path / "clip.mp4"
    src.write_bytes(data)
    other = server.admin("POST", "pins", {"board_id": board_id(server, "Travel"),
                                          "title": "clip", "media_type": "video"})
    before = pins(server)
    server.fault(route="POST /v5/pins", action="close_after", source_type="video_id")
    server.reset_counts()
    r = cp(src, travel)
    assert server.counts()["POST /v5/pins"] == 1
    now = pins(server)
    mine = [p for i, p in now.items() if i not in before]
    assert len(mine) == 1  # the server made ours once
    assert other["id"] in now
    if r.returncode != 0:
        assert "Input/output error" in r.stderr
    # Whatever cp was told, the other client's pin reads as its own video, never as ours.
    os.kill(m.proc.pid, signal.SIGHUP)  # list Travel again: the other client's pin shows
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            theirs = sidecar_of(travel, other["id"]) + ".mp4"
            break
        except AssertionError:
            time.sleep(0.1)
    theirs = sidecar_of(travel, other["id"]) + ".mp4"
    assert (travel / theirs).read_bytes() == server.fetch(other["media"]["video_url"])
    if r.returncode == 0:
        ours = sidecar_of(travel, mine[0]["id"]) + ".mp4"
        assert (travel / ours).read_bytes() == data
