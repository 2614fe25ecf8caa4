"""What a user would write instead of mounting: plain scripts over the raw API.

Python's urllib and a pool of 16 threads, as a careful script would use (the same 16-way
concurrency pinfs allows itself). Each function does the work of one read workload and
returns a small result to compare with what the mount gave (a count, names).
"""

import json
import os
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

THREADS = 16


class Api:
    def __init__(self, api, token):
        self.api = api
        self.token = token

    def get(self, path, **query):
        url = self.api + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())

    def post(self, path, body):
        req = urllib.request.Request(self.api + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())

    def walk(self, path):
        """Every item of a paged list, page after page (a bookmark comes from the page before)."""
        items, bookmark = [], None
        while True:
            query = {"page_size": 250}
            if bookmark:
                query["bookmark"] = bookmark
            page = self.get(path, **query)
            items += page["items"]
            bookmark = page.get("bookmark")
            if not bookmark:
                return items

    def boards(self):
        return self.walk("/boards")

    def board_named(self, name):
        return next(b for b in self.boards() if b["name"] == name)

    def board_contents(self, board_id):
        """(sections, pins) of a board, the two lists fetched at the same time."""
        with ThreadPoolExecutor(2) as pool:
            secs = pool.submit(self.walk, f"/boards/{board_id}/sections")
            pins = pool.submit(self.walk, f"/boards/{board_id}/pins")
            return secs.result(), pins.result()


def image_url(pin):
    return pin["media"]["images"]["originals"]["url"]


def image_urls(pin):
    """Every picture the server has for a pin: its own (a picture, or a video's cover), or each
    carousel item's (an image item's picture, a video item's cover)."""
    media = pin.get("media") or {}
    if "items" not in media:
        return [image_url(pin)] if media.get("images") else []
    urls = []
    for item in media["items"]:
        if item.get("item_type") == "video":
            urls += [item["cover_image_url"]] if item.get("cover_image_url") else []
        elif (item.get("images") or {}).get("originals"):
            urls.append(item["images"]["originals"]["url"])
    return urls


def originals(images):
    """The URL of an `images` map's originals, or None."""
    return ((images or {}).get("originals") or {}).get("url")


def shown_files(pin):
    """[(kind, url)] of the files a mount shows for a pin, its main file and those beside it
    (docs/design.md, "Every kind of pin"), kind "image" or "video": an image pin its picture; a
    video with a video_url the video and its cover, without one its cover only; a carousel one
    file per item that has a URL (a video item its video, or its cover without one; an image
    item its picture)."""
    media = pin.get("media") or {}
    if "items" in media:
        files = []
        for item in media["items"] or []:
            if item.get("item_type") == "video":
                if item.get("video_url"):
                    files.append(("video", item["video_url"]))
                elif item.get("cover_image_url"):
                    files.append(("image", item["cover_image_url"]))
            elif originals(item.get("images")):
                files.append(("image", originals(item["images"])))
        return files
    cover = originals(media.get("images")) or media.get("cover_image_url")
    files = [("video", media["video_url"])] if media.get("video_url") else []
    return files + ([("image", cover)] if cover else [])


def head_size(url):
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=120) as r:
        return int(r.headers["Content-Length"])


def first_bytes(url, n):
    req = urllib.request.Request(url, headers={"Range": f"bytes=0-{n - 1}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.read()


def ls_boards(api):
    """`ls boards`: the names of my boards."""
    return [b["name"] for b in api.boards()]


def ls_l(api, board_name):
    """`ls -l` of a board's top: its listing, then the size (HEAD) of every file its top-level
    pins show (shown_files: main files and those beside them)."""
    board = api.board_named(board_name)
    _, pins = api.board_contents(board["id"])
    top = [p for p in pins if not p.get("board_section_id")]
    urls = [url for p in top for _, url in shown_files(p)]
    with ThreadPoolExecutor(THREADS) as pool:
        sizes = list(pool.map(head_size, urls))
    return len(sizes)


def all_pins(api):
    """Every board's sections and pins, boards 16 at a time."""
    boards = api.boards()
    with ThreadPoolExecutor(THREADS) as pool:
        contents = list(pool.map(lambda b: api.board_contents(b["id"]), boards))
    return boards, contents


def count_json(api, others=()):
    """`find -name '*.json' | wc -l`: me.json, one .board.json per board, one JSON per pin, and
    one per item of the other lists a walk of the mount fetches (`others`: API paths, e.g.
    /user_account/followers; /pins only costs its walk, its entries are links to images)."""
    with ThreadPoolExecutor(THREADS) as pool:
        other = [pool.submit(api.walk, path) for path in others]
        boards, contents = all_pins(api)
        extra = sum(len(f.result()) for path, f in zip(others, other) if path != "/pins")
    return 1 + len(boards) + sum(len(pins) for _, pins in contents) + extra


def grep(api, needle):
    """`grep -rl needle boards --include=*.json`: the pins and boards whose JSON has it."""
    boards, contents = all_pins(api)
    hits = sum(needle in json.dumps(b, ensure_ascii=False) for b in boards)
    for _, pins in contents:
        hits += sum(needle in json.dumps(p, ensure_ascii=False) for p in pins)
    return hits


def thumbnails(api, board_name, n, nbytes):
    """The first nbytes of n images of a board, 16 at a time."""
    board = api.board_named(board_name)
    _, pins = api.board_contents(board["id"])
    urls = [u for p in pins for u in image_urls(p)][:n]
    with ThreadPoolExecutor(THREADS) as pool:
        got = list(pool.map(lambda u: len(first_bytes(u, nbytes)), urls))
    return sum(got)


def upload_video(api, board_id, path, title, pause=0.5):
    """A video pin made as Pinterest documents it: POST /media, the file to its upload_url as
    multipart/form-data (the upload parameters as fields, the file part last, streamed from
    disk, no Pinterest token), GET /media/{id} until it says succeeded (at once, then every
    `pause` s), then POST /pins with the media id. Returns the pin's id, the media id, the
    polls and each step's time."""
    steps = {}
    t = time.perf_counter()
    media = api.post("/media", {"media_type": "video"})
    steps["register"] = time.perf_counter() - t
    fields = {k: v for k, v in media["upload_parameters"].items() if k.lower() != "content-type"}
    boundary = "rawapi-" + os.urandom(12).hex()
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
             f'filename="{os.path.basename(path)}"\r\nContent-Type: video/mp4\r\n\r\n').encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = os.path.getsize(path)

    def body():
        yield head
        with open(path, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                yield chunk
        yield tail
    req = urllib.request.Request(media["upload_url"], data=body(), method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail))})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        r.read()
    steps["upload"] = time.perf_counter() - t
    t = time.perf_counter()
    polls = 0
    while True:
        polls += 1
        status = api.get(f"/media/{media['media_id']}")["status"]
        if status == "succeeded":
            break
        if status == "failed":
            raise RuntimeError(f"media {media['media_id']} failed")
        time.sleep(pause)
    steps["polls"] = time.perf_counter() - t
    t = time.perf_counter()
    pin = api.post("/pins", {"board_id": board_id, "title": title,
                             "media_source": {"source_type": "video_id", "media_id": media["media_id"],
                                              "cover_image_key_frame_time": 0}})
    steps["pin"] = time.perf_counter() - t
    return {"pin_id": pin["id"], "media_id": media["media_id"], "polls": polls, "steps": steps}
