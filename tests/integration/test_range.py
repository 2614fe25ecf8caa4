"""Reads far ahead of a download: a large image read at its end is served by ranged GETs of the
chunks that hold it while the download goes on (docs/design.md, "Sizes and images").

The large image is a pin made on the fake server through its API: a PNG of 20 MB of noise,
whose `originals` URL serves exactly those bytes. Its download is held back by a `stall`
fault (1 MiB, then nothing for a while), so it cannot simply finish before the read.

Each test checks the bytes a reader got against the server's, and what the server was asked."""

import base64
import io
import os
import re
import subprocess
import time

import pytest
from PIL import Image

CHUNK = 1 << 20       # cache_range.h's RANGE_CHUNK
STALL = 1 << 20       # what the held-back download brings before it stalls
GET_IMG = "GET /img"
_PNG = []


def big_png():
    """A PNG of about 20 MB of noise (made once per run: a second each time otherwise)."""
    if not _PNG:
        side = 2600
        noise = os.urandom(side * side * 3)
        buf = io.BytesIO()
        Image.frombytes("RGB", (side, side), noise).save(buf, "PNG", compress_level=0)
        _PNG.append(buf.getvalue())
    return _PNG[0]


def make_big_pin(server):
    """A board "Videos" holding one pin, "big", whose image is big_png(): (bytes, image path
    on the server)."""
    data = big_png()
    board = server.v5("POST", "/boards", {"name": "Videos"})
    pin = server.v5("POST", "/pins", {
        "board_id": board["id"], "title": "big",
        "media_source": {"source_type": "image_base64", "content_type": "image/png",
                         "data": base64.b64encode(data).decode()}})
    url = pin["media"]["images"]["originals"]["url"]
    return data, url[url.index("/img/"):]


@pytest.fixture
def big(fake, mount):
    """(server, mount, the image's bytes, its path in the mount, its path on the server), its
    size known to the mount (a stat, as a player's or dd's open would follow)."""
    server = fake("boards=1,pins=3,sections=0")
    data, img_path = make_big_pin(server)
    m = mount(server)
    path = m.path("boards", "Videos", "big.png")
    assert os.stat(path).st_size == len(data)
    server.reset_counts()
    return server, m, data, path, img_path


def image_requests(server, img_path):
    return [r for r in server.admin("GET", "requests")["requests"]
            if r["route"] == GET_IMG and r["path"] == img_path]


def range_of(request):
    """(first, last) of a request's Range header, or None."""
    found = re.match(r"bytes=(\d+)-(\d*)$", request.get("range") or "")
    return (int(found.group(1)), int(found.group(2)) if found.group(2) else None) if found else None


def hold_download(server, img_path, ms):
    """The next GET of the image (the download) sends 1 MiB, then nothing for ms."""
    server.fault(route=GET_IMG, path=img_path, action="stall", bytes=STALL, ms=ms)


def open_and_wait_for_download(server, path, img_path):
    """Opens the image (which starts its download) and waits until the server got that GET, so
    that the faults queued next are taken by the reads' ranged GETs, not by the download."""
    fd = os.open(path, os.O_RDONLY)
    deadline = time.time() + 10
    while not image_requests(server, img_path) and time.time() < deadline:
        time.sleep(0.01)
    assert image_requests(server, img_path), "the download did not start"
    return fd


def dd(path, bs, skip, count):
    """dd's bytes and its exit status and message."""
    r = subprocess.run(["dd", f"if={path}", f"bs={bs}", f"skip={skip}", f"count={count}",
                        "status=none"], capture_output=True, timeout=60)
    return r.stdout, r.returncode, r.stderr.decode(errors="replace")


def far_offset(size):
    """An offset 128 KiB into the third chunk from the end: a 128 KiB read there (and the
    kernel's readahead after it) stays in one chunk."""
    return (size // CHUNK - 3) * CHUNK + (128 << 10)


def test_a_read_near_the_end_fetches_its_range_not_the_whole_image(big):
    server, m, data, path, img_path = big
    hold_download(server, img_path, 6000)
    fd = open_and_wait_for_download(server, path, img_path)
    try:
        off = far_offset(len(data))
        t0 = time.monotonic()
        out, rc, err = dd(path, 65536, off // 65536, 2)
        took = time.monotonic() - t0
        assert rc == 0, err
        assert out == data[off:off + 131072]
        assert took < 4, f"dd took {took:.1f} s: it waited for the download"
        reqs = image_requests(server, img_path)
        ranged = [range_of(r) for r in reqs if range_of(r)]
        assert [r for r in reqs if not range_of(r)], "the download's own GET"
        # A ranged GET of the aligned chunk holding the offset, bounded.
        assert (off - off % CHUNK, off - off % CHUNK + CHUNK - 1) in ranged, ranged
        assert all(last is not None and last - first < CHUNK for first, last in ranged)
        assert all(r["status"] == 206 for r in reqs if range_of(r))
        # What the server sent for the image by then: the download's first MiB (it stalls
        # for 6 s) and the chunks, far below the image's 20 MB.
        sent = STALL + sum(last - first + 1 for first, last in ranged)
        assert sent <= STALL + 3 * CHUNK < len(data) // 4, sent
        # The download goes on (its .part is a prefix, never the chunks).
        part = [f for f in os.listdir(os.path.join(m.cache_dir, "images")) if f.endswith(".part")]
        assert part and os.path.getsize(os.path.join(m.cache_dir, "images", part[0])) <= STALL
        # Reading on in the same chunk costs no request: the chunk is kept.
        before = len(image_requests(server, img_path))
        assert os.pread(fd, 65536, off + 262144) == data[off + 262144:off + 327680]
        assert len(image_requests(server, img_path)) == before
    finally:
        os.close(fd)


def test_a_whole_read_of_the_large_image_is_one_get_and_exact(big):
    server, m, data, path, img_path = big
    got = subprocess.run(["cat", str(path)], capture_output=True, check=True).stdout
    assert got == data
    reqs = image_requests(server, img_path)
    assert len(reqs) == 1 and not range_of(reqs[0]), reqs
    # cmp against the bytes, once more from the cached file: no request.
    local = os.path.join(m.cache_dir, "big-local.png")
    with open(local, "wb") as f:
        f.write(data)
    assert subprocess.run(["cmp", local, str(path)]).returncode == 0
    assert len(image_requests(server, img_path)) == 1


def test_a_whole_read_after_a_far_read_is_exact(big):
    """A far read, then cat while the download is still held back: the chunk and the download
    share no bytes, and cat gets exactly the image."""
    server, m, data, path, img_path = big
    hold_download(server, img_path, 1500)
    fd = open_and_wait_for_download(server, path, img_path)
    try:
        off = far_offset(len(data))
        out, rc, err = dd(path, 65536, off // 65536, 2)
        assert rc == 0 and out == data[off:off + 131072], err
        got = subprocess.run(["cat", str(path)], capture_output=True, check=True).stdout
        assert got == data
    finally:
        os.close(fd)


def test_small_images_cost_one_get_and_no_range(fake, mount):
    server = fake("boards=1,pins=6,sections=0")
    m = mount(server)
    board = m.path("boards", os.listdir(m.path("boards"))[0])
    images = sorted(n for n in os.listdir(board) if n.endswith((".jpg", ".png")))
    path = board / images[0]
    size = os.stat(path).st_size
    server.reset_counts()
    # 64 KiB near its end first (dd skip=), then the whole file.
    skip = max(0, size // 4096 - 16)
    out, rc, err = dd(path, 4096, skip, 16)
    assert rc == 0, err
    whole = path.read_bytes()
    assert len(whole) == size and out == whole[skip * 4096:skip * 4096 + 65536]
    reqs = [r for r in server.admin("GET", "requests")["requests"] if r["route"] == GET_IMG]
    assert len(reqs) == 1 and not range_of(reqs[0]), reqs
    assert server.counts().get(GET_IMG) == 1


# A ranged answer that is not the range asked for: the read waits for the download instead,
# and gets the right bytes once the download (held back 1.5 s) brings them.
def wrong_answers(first, total):
    last = first + CHUNK - 1
    return {
        "200": dict(action="raw", status=200, body_text="x", repeat=CHUNK),
        "206 elsewhere": dict(action="raw", status=206, body_text="x", repeat=CHUNK,
                              headers={"Content-Range": f"bytes 0-{CHUNK - 1}/{total}"}),
        "206 short": dict(action="raw", status=206, body_text="x", repeat=1000,
                          headers={"Content-Range": f"bytes {first}-{last}/{total}"}),
        "206 without Content-Range": dict(action="raw", status=206, body_text="x",
                                          repeat=CHUNK),
        "cut": dict(action="truncate", bytes=1000),
        "503 once": dict(action="status", status=503),
    }


@pytest.mark.parametrize("answer", ["200", "206 elsewhere", "206 short",
                                    "206 without Content-Range", "cut", "503 once"])
def test_a_wrong_ranged_answer_never_gives_wrong_bytes(big, answer):
    server, m, data, path, img_path = big
    off = far_offset(len(data))
    hold_download(server, img_path, 1500)
    fd = open_and_wait_for_download(server, path, img_path)
    try:
        spec = wrong_answers(off - off % CHUNK, len(data))[answer]
        server.fault(route=GET_IMG, path=img_path, **spec)
        out, rc, err = dd(path, 65536, off // 65536, 2)
        assert rc == 0, err
        assert out == data[off:off + 131072]
        assert any(r.get("fault") for r in image_requests(server, img_path) if range_of(r))
        got = subprocess.run(["cat", str(path)], capture_output=True, check=True).stdout
        assert got == data
    finally:
        os.close(fd)
    assert "that size is forgotten" not in m.log()


def test_a_ranged_answer_of_another_length_is_eio_and_forgets_the_size(big):
    """As a download of another length: that read fails (EIO), the size is forgotten (one
    warning), and no byte of that answer is ever served. The kernel asks again for a page its
    readahead could not fill; that read, of an image whose size is not known any more, waits
    for the download, which has the right length: dd then gets the exact bytes."""
    server, m, data, path, img_path = big
    m.expect_log(r"that size is forgotten")
    off = far_offset(len(data))
    first = off - off % CHUNK
    hold_download(server, img_path, 1500)
    fd = open_and_wait_for_download(server, path, img_path)
    try:
        server.fault(route=GET_IMG, path=img_path, action="raw", status=206, body_text="x",
                     repeat=CHUNK, headers={"Content-Range":
                                            f"bytes {first}-{first + CHUNK - 1}/{len(data) + 7}"})
        out, rc, err = dd(path, 65536, off // 65536, 2)
        assert b"x" * 512 not in out
        assert (rc == 0 and out == data[off:off + 131072]) or \
            (rc != 0 and "Input/output error" in err), (rc, err)
        assert len(re.findall(r"that size is forgotten", m.log())) == 1
        assert any(r.get("fault") for r in image_requests(server, img_path) if range_of(r))
    finally:
        os.close(fd)
