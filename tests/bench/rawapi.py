"""What a user would write instead of mounting: plain scripts over the raw API.

Python's urllib and a pool of 16 threads, as a careful script would use (the same 16-way
concurrency pinfs allows itself). Each function does the work of one read workload and
returns a small result to compare with what the mount gave (a count, names).
"""

import json
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


def video_urls(pin):
    """Every video file the server has for a pin (a video_url may be null: not shown)."""
    media = pin.get("media") or {}
    if media.get("media_type") == "video":
        return [media["video_url"]] if media.get("video_url") else []
    return [i["video_url"] for i in media.get("items", []) if i.get("item_type") == "video" and i.get("video_url")]


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
    """`ls -l` of a board's top: its listing, then the size (HEAD) of every picture and video
    file of its top-level pins."""
    board = api.board_named(board_name)
    _, pins = api.board_contents(board["id"])
    top = [p for p in pins if not p.get("board_section_id")]
    urls = [u for p in top for u in image_urls(p) + video_urls(p)]
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
