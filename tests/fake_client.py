"""The client side of the fake Pinterest server for its tests: start one, call it, and the
shapes tests send (image uploads, video media uploads to its storage host stand-in).

Used by tests/test_fake_server.py; integration tests may use it too.
"""

import base64
import contextlib
import hashlib
import http.client
import io
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from PIL import Image

FAKE_DIR = Path(__file__).resolve().parent / "fake_pinterest"
SERVER = FAKE_DIR / "server.py"
TOKEN = "test-token"


class Fake:
    """A running server and a tiny HTTP client for it."""

    def __init__(self, *args, env=None):
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", "0", "--token", TOKEN, *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:") and line.endswith("/v5"), line
        self.api = line
        self.host, self.port = urlsplit(line).hostname, urlsplit(line).port
        self.base = line[:-3]

    def stop(self):
        self.proc.kill()
        self.proc.wait(5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def call(self, method, path, body=None, headers=None, token=TOKEN, timeout=10):
        """(status, headers, body bytes); `path` is absolute ("/v5/boards") and JSON-able
        bodies are sent as JSON."""
        headers = dict(headers or {})
        if token is not None and path.startswith("/v5/"):
            headers.setdefault("Authorization", f"Bearer {token}")
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def json(self, method, path, body=None, expect=200, **kw):
        status, _, data = self.call(method, path, body, **kw)
        assert status == expect, (method, path, status, data[:500])
        return json.loads(data) if data else None

    def all_items(self, path, page_size=250):
        """Every item of a paged listing, following bookmarks."""
        items, bookmark = [], None
        sep = "&" if "?" in path else "?"
        while True:
            query = {"page_size": page_size, **({"bookmark": bookmark} if bookmark else {})}
            page = self.json("GET", f"{path}{sep}{urlencode(query)}")
            items += page["items"]
            bookmark = page["bookmark"]
            if bookmark is None:
                return items

    def state(self, images=False):
        return self.json("GET", "/_fake/state" + ("?images=1" if images else ""))

    def violations(self):
        return self.json("GET", "/_fake/violations")["violations"]

    @contextlib.contextmanager
    def deliberate_violations(self):
        """For requests that break the spec on purpose: everything before them must be clean,
        and what they cause is cleared afterwards."""
        assert self.violations() == []
        yield
        self.json("POST", "/_fake/violations/reset")



def error_of(status_body, status, code):
    got_status, _, data = status_body
    assert got_status == status, (got_status, data[:300])
    body = json.loads(data)
    assert body["code"] == code and isinstance(body["message"], str), body
    return body


def png_bytes(size=(64, 48), color=(200, 40, 90)):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def upload_body(board_id, data, content_type="image/png", **fields):
    return {"board_id": board_id, **fields, "media_source": {
        "source_type": "image_base64", "content_type": content_type,
        "data": base64.b64encode(data).decode()}}


def image_pin(pins):
    """The first picture pin (media_type image) of a list of pins."""
    return next(p for p in pins if p["media"]["media_type"] == "image")


def first_board(fake):
    return fake.json("GET", "/v5/boards?page_size=1")["items"][0]


def path_of(url):
    return urlsplit(url).path



def mp4_like(size, brand=b"isom"):
    """An ftyp box and an mdat of `size` bytes in all: what the fake checks a video by."""
    head = b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x02\x00isommp42"
    body = hashlib.sha256(brand).digest() * ((size - len(head) - 8) // 32 + 1)
    return head + (size - len(head)).to_bytes(4, "big") + b"mdat" + body[:size - len(head) - 8]


def multipart(fields, data, boundary="pinfsFakeBoundary7MA4YWxkTrZu0gW", file_at=None):
    """A multipart/form-data body: the fields, then the `file` part (or at index `file_at`)."""
    parts = [(k, v.encode(), None) for k, v in fields.items()]
    parts.insert(len(parts) if file_at is None else file_at, ("file", data, "clip.mp4"))
    body = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        extra = "\r\nContent-Type: video/mp4" if filename else ""
        body += f"--{boundary}\r\nContent-Disposition: {disposition}{extra}\r\n\r\n".encode() + value + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def register_media(fake):
    return fake.json("POST", "/v5/media", {"media_type": "video"}, expect=201)


def upload_fields(media, **changes):
    fields = {k: v for k, v in media["upload_parameters"].items() if k != "Content-Type"}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def upload(fake, media, data, fields=None, headers=None, **kw):
    body, content_type = multipart(upload_fields(media) if fields is None else fields, data, **kw)
    return fake.call("POST", path_of(media["upload_url"]), body,
                     headers={"Content-Type": content_type, **(headers or {})}, timeout=60)


def media_status(fake, media_id):
    return fake.json("GET", f"/v5/media/{media_id}")["status"]


def fake_media(fake, media_id):
    return next(m for m in fake.json("GET", "/_fake/media")["media"] if m["media_id"] == media_id)


def video_pin_body(board_id, media_id, **fields):
    return {"board_id": board_id, **fields, "media_source": {"source_type": "video_id", "media_id": media_id}}


def uploaded_media(fake, data):
    """A media id whose upload has succeeded."""
    media = register_media(fake)
    assert upload(fake, media, data)[0] == 204
    statuses = [media_status(fake, media["media_id"]) for _ in range(2)]
    assert statuses == ["processing", "succeeded"], statuses
    return media["media_id"]


# ----- checks of what the fake serves ---------------------------------------------------------------
SIZE_KEYS = {"150x150", "400x300", "600x", "1200x", "originals"}


def check_video(fake, url, seen):
    """The MP4 at `url`: served as /img/ is (HEAD, Range), unique, an ISO Media file."""
    status, headers, data = fake.call("GET", path_of(url), token=None)
    assert status == 200 and headers["content-type"] == "video/mp4" and int(headers["content-length"]) == len(data)
    assert data[4:12] == b"ftypisom" and b"moov" in data[:2000] and b"mdat" in data
    assert data not in seen, "every video's bytes are its own"
    seen.add(data)
    status, headers, _ = fake.call("HEAD", path_of(url))
    assert status == 200 and int(headers["content-length"]) == len(data)
    status, headers, part = fake.call("GET", path_of(url), headers={"Range": "bytes=100-"})
    assert status == 206 and part == data[100:] and headers["content-range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    assert fake.call("GET", path_of(url), headers={"Range": f"bytes={len(data)}-"})[0] == 416
    return data


def check_images(fake, images, seen):
    assert set(images) == SIZE_KEYS
    data = fake.call("GET", path_of(images["originals"]["url"]))[2]
    assert Image.open(io.BytesIO(data)).size == (images["originals"]["width"], images["originals"]["height"])
    assert data not in seen
    seen.add(data)


def refuses_arguments(*args):
    """The server refuses these arguments (exits non-zero)."""
    return subprocess.run([sys.executable, str(SERVER), "--token", "t", *args], capture_output=True,
                          timeout=30).returncode != 0
