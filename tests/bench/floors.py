"""Floors: the requests a piece of work cannot avoid, and how fast they could possibly go.

A floor is a graph of requests: each waits for the ones it depends on (a bookmark comes from
the page before; a file's name is known only once its folder is listed; a tool that does one
file after another waits for each). Every request costs one latency and at most `SLOTS` run at
once. The floor time is the length of the best schedule of that graph: it is computed by list
scheduling, longest remaining chain first, and checked against a lower bound (for every k, the
requests more than k deep cannot start in the first k rounds, and at most `slots` run in a
round); in every graph built here the two agree, so the schedule is optimal.
"""

import heapq
import math
from collections import Counter

SLOTS = 16
PAGE = 250


def pages(n):
    """GET pages needed to list n items at page_size=250 (an empty list still costs one)."""
    return max(1, math.ceil(n / PAGE))


class Floor:
    """A graph of unit requests, each with a route and a list of prerequisites."""

    def __init__(self, slots=SLOTS):
        self.slots = slots
        self.routes = []
        self.deps = []

    def add(self, route, after=()):
        self.routes.append(route)
        self.deps.append([a for a in after if a is not None])
        return len(self.routes) - 1

    def chain(self, route, n, after=()):
        """n requests one after another (pages of one list); returns the last one."""
        last = None
        for i in range(n):
            last = self.add(route, after if i == 0 else [last])
        return last

    def fan(self, route, n, after=()):
        """n independent requests after `after`; returns their ids."""
        return [self.add(route, after) for _ in range(n)]

    # ---- what it costs ----
    def requests(self):
        return len(self.routes)

    def by_route(self):
        return Counter(self.routes)

    def _height(self):
        """Longest chain from each request to the end, itself included."""
        succ = [[] for _ in self.routes]
        for i, ds in enumerate(self.deps):
            for d in ds:
                succ[d].append(i)
        height = [0] * len(self.routes)
        for i in reversed(range(len(self.routes))):   # prerequisites always come first
            height[i] = 1 + max((height[s] for s in succ[i]), default=0)
        return height

    def rounds(self):
        """Latencies the best schedule takes (0 for no request): each round runs up to
        `slots` ready requests, those with the longest chain still behind them first."""
        n = len(self.routes)
        if n == 0:
            return 0
        height = self._height()
        succ = [[] for _ in range(n)]
        waiting = [len(ds) for ds in self.deps]
        for i, ds in enumerate(self.deps):
            for d in ds:
                succ[d].append(i)
        ready = [(-height[i], i) for i in range(n) if not waiting[i]]
        heapq.heapify(ready)
        t = done = 0
        while done < n:
            batch = [heapq.heappop(ready)[1] for _ in range(min(self.slots, len(ready)))]
            t += 1
            done += len(batch)
            for i in batch:
                for s in succ[i]:
                    waiting[s] -= 1
                    if not waiting[s]:
                        heapq.heappush(ready, (-height[s], s))
        return t

    def _depth(self):
        """Longest chain from the start to each request, itself included."""
        depth = [0] * len(self.routes)
        for i, ds in enumerate(self.deps):
            depth[i] = 1 + max((depth[d] for d in ds), default=0)
        return depth

    def lower_bound(self):
        """No schedule is shorter: for every k, the requests more than k deep in the graph
        cannot start in the first k rounds (likewise at the end with the heights), and
        at most `slots` run in a round."""
        if not self.routes:
            return 0
        best = 0
        for levels in (self._depth(), self._height()):
            for k in range(max(levels)):
                later = sum(1 for x in levels if x > k)
                best = max(best, k + math.ceil(later / self.slots))
        return best

    def seconds(self, latency_s):
        return self.rounds() * latency_s


# ---- the floors of the workloads ----

def list_board(f, after, n_pins, n_sections):
    """GET /boards/{id}/sections and the pages of GET /boards/{id}/pins: independent lists.
    Returns the requests a use of the listing must wait for."""
    s = f.chain("GET /boards/{board_id}/sections", pages(n_sections), [after])
    p = f.chain("GET /boards/{board_id}/pins", pages(n_pins), [after])
    return [s, p]


def mount_and_ls_boards(n_boards):
    f = Floor()
    f.add("GET /user_account")                  # pinfs checks the token before mounting,
    f.chain("GET /boards", pages(n_boards))     # and need not wait for it to list boards/
    return f


def ls_l_cold(n_boards, board):
    """ls -l of one board just after mounting: its listing, then a HEAD per file shown for the
    pins at its top (rawapi.shown_files: an image pin's picture; a video's video and its cover,
    or its cover alone when its video_url is null; one file per carousel item with a URL):
    names need the whole listing (the API sends pins newest first, and the oldest of two
    same-titled pins keeps the plain name), sizes a HEAD each."""
    f = Floor()
    b = f.chain("GET /boards", pages(n_boards))
    listed = list_board(f, b, board["pins"], board["sections"])
    f.fan("HEAD /img", board["top_images"], listed)
    f.fan("HEAD /vid", board.get("top_videos", 0), listed)
    return f


def ls_l_remount(n_boards, board):
    """The same after a remount on the same cache: sizes are on disk, no HEAD."""
    f = Floor()
    b = f.chain("GET /boards", pages(n_boards))
    list_board(f, b, board["pins"], board["sections"])
    return f


def nothing():
    return Floor()


def list_account(boards):
    """Every board listed (find, grep -r): GET /boards, then each board's two lists."""
    f = Floor()
    b = f.chain("GET /boards", pages(len(boards)))
    for board in boards:
        list_board(f, b, board["pins"], board["sections"])
    return f


# The folders beyond boards/ and the list each one costs (docs/design.md; the brief).
OTHER_FOLDERS = {
    "pins": "GET /pins",
    "followers": "GET /user_account/followers",
    "following/users": "GET /user_account/following",
    "following/boards": "GET /user_account/following/boards",
    "following/interests": "GET /users/{username}/interests/follow",
}


def other_folders(f, items):
    """The lists behind the folders beyond boards/ that a walk enters: {folder: item count}
    for those that show something. Each is one list, independent of the others."""
    for folder, n in items.items():
        f.chain(OTHER_FOLDERS[folder], pages(n))
    return f


def thumbnails(n_boards, board, n_images):
    """List one board, then GET each of n images (the first 64 KiB: one request each)."""
    f = Floor()
    b = f.chain("GET /boards", pages(n_boards))
    listed = list_board(f, b, board["pins"], board["sections"])
    f.fan("GET /img", n_images, listed)
    return f


def one_image():
    f = Floor()
    f.add("GET /img")
    return f


def video_upload(polls):
    """A video pin (`cp clip.mp4 BOARD/`): POST /media registers the upload, the file goes to
    its upload_url, GET /media/{id} until it says succeeded (`polls` of them: the server
    answers `processing` to all but the last), then POST /pins: each step needs the one
    before (the upload needs the registration's signed fields, the pin the media id once
    processed). Transfer time is not counted: the floor time is rounds of latency."""
    f = Floor()
    registered = f.add("POST /v5/media")
    uploaded = f.add("POST /_media_upload", [registered])
    ready = f.chain("GET /v5/media/{media_id}", polls, [uploaded])
    f.add("POST /v5/pins", [ready])
    return f


def one_after_another(route, n):
    """A tool that does one file after another (cp a b c DIR, mv, rm) waits for each."""
    f = Floor()
    f.chain(route, n)
    return f


def in_parallel(route, n, workers):
    """n requests from `workers` tools at once (xargs -P): workers independent chains."""
    f = Floor(slots=min(SLOTS, workers))
    for _ in range(n):
        f.add(route)
    return f
