#!/usr/bin/python3
"""pinfs benchmark: what everyday commands cost through the mount, next to their floor.

    tests/bench/bench.py [--quick] [--json FILE] [--keep] [--only 1,2,...]

Starts the fake Pinterest server with 50 ms of latency on every API and image request, mounts
build/pinfs (or $PINFS_BIN) on it and runs the workloads of docs/performance.md. For each it
prints the requests the server saw (by route), the floor (the requests the work cannot avoid),
the wall time, the floor time (the best schedule of those requests at 16 at a time, each costing
one latency) and their ratio, and runs the read workloads again through a plain script over the
raw API (urllib, 16 threads) for comparison. It reports; it asserts nothing about speed.

Exit status: 0 when every workload ran (however slowly), 1 when one could not run: an
exception, a read command that failed, pinfs dying, or a mount left behind. A write that the
mount refuses is reported as "not available: <errno>" and is not a failure.
"""

import argparse
import base64
import errno
import hashlib
import io
import json
import math
import os
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import floors  # noqa: E402
import harness  # noqa: E402
import rawapi  # noqa: E402
from harness import FakeServer, Mount, run, run_pipe  # noqa: E402

FULL = dict(
    name="full", boards=20, pins=9000, big=1000, sections=16, image_scale=2.0, latency_ms=50,
    big_image=5 << 20, thumbs=200, thumb_bytes=64 << 10, writes=50, xargs=8,
    mem_boards=20, mem_pins=100_000, mem_sections=16, mem_ttl=5, warm_runs=3,
    kinds_pins=1000, kinds_media=33, video_bytes=50_000_000,
)
QUICK = dict(
    name="quick", boards=6, pins=500, big=300, sections=4, image_scale=1.0, latency_ms=50,
    big_image=1 << 20, thumbs=32, thumb_bytes=64 << 10, writes=8, xargs=8,
    mem_boards=6, mem_pins=3000, mem_sections=4, mem_ttl=2, warm_runs=3,
    kinds_pins=300, kinds_media=33, video_bytes=5_000_000,
)
NEEDLE = "needle"          # in no seeded pin: grep reads every JSON file to the end
IMAGE_EXT = (".jpg", ".jpeg", ".png")


# ---- rows of the table ----------------------------------------------------------------------

def folder(name):
    """A board's folder name in the mount (docs/design.md, Names): '/' shows as U+FF0F, a
    leading '.' as U+FF0E."""
    name = name.replace("/", "\uff0f").replace("\t", " ").replace("\n", " ")
    return "\uff0e" + name[1:] if name.startswith(".") else name


def short_route(route):
    route = route.replace("/v5/", "/", 1)
    return re.sub(r"\{(\w)\w*_id\}", r"{\1}", route)


class Row:
    """One line of the table."""

    def __init__(self, item, op):
        self.item, self.op = item, op
        self.sent = None          # Counter of routes, or None when not counted
        self.floor = None         # floors.Floor, or None
        self.wall = None          # seconds
        self.floor_s = None
        self.status = None        # None (ran) or "not available: ..." / "failed: ..."
        self.targets = []         # (text, met) pairs; met None when it cannot be told
        self.notes = []
        self.in_flight = None     # mean requests in flight over the wall time (server's log)
        self.peak = None          # most requests in flight at once
        self.extra = {}           # anything else worth keeping in the JSON

    # what went over the wire, compared with the floor
    def extra_requests(self):
        if self.sent is None or self.floor is None:
            return None
        want = Counter({short_route(r): n for r, n in self.floor.by_route().items()})
        got = Counter({short_route(r): n for r, n in self.sent.items()})
        over = got - want
        under = want - got
        return over, under

    def target(self, text, met):
        self.targets.append((text, met))

    def fmt_sent(self):
        if self.sent is None:
            return "-"
        total = sum(self.sent.values())
        if not total:
            return "0"
        parts = [f"{short_route(r)} {n}" for r, n in sorted(self.sent.items(), key=lambda x: -x[1])]
        return f"{total}: " + ", ".join(parts)

    def fmt_floor(self):
        return "-" if self.floor is None else str(self.floor.requests())

    def ratio(self):
        if self.wall is None or not self.floor_s:
            return None
        return self.wall / self.floor_s

    def to_json(self):
        over_under = self.extra_requests()
        return {
            "item": self.item, "operation": self.op, "status": self.status,
            "sent": {short_route(r): n for r, n in (self.sent or {}).items()} if self.sent is not None else None,
            "floor_requests": self.floor.requests() if self.floor else None,
            "floor_by_route": {short_route(r): n for r, n in self.floor.by_route().items()} if self.floor else None,
            "floor_rounds": self.floor.rounds() if self.floor else None,
            "wall_s": self.wall, "floor_s": self.floor_s, "ratio": self.ratio(),
            "mean_in_flight": self.in_flight, "max_in_flight": self.peak,
            "extra_requests": dict(over_under[0]) if over_under else None,
            "missing_requests": dict(over_under[1]) if over_under else None,
            "targets": [{"target": t, "met": m} for t, m in self.targets],
            "notes": self.notes, **self.extra,
        }


def fmt_s(s):
    if s is None:
        return "-"
    if s < 0.01:
        return f"{s * 1000:.1f} ms"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    return f"{s:.2f} s"


def fmt_target(text, met):
    """✓ met, ✗ missed; met=None is a figure shown beside the targets, not one."""
    return text if met is None else f"{'✓' if met else '✗'} {text}"


def table(rows):
    out = ["| # | operation | requests sent (by route) | floor requests | wall time | floor time | ratio | targets |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = r.ratio()
        op = r.op.replace("|", "\\|")   # a pipe in a cell would end it
        if r.status:
            out.append(f"| {r.item} | {op} | {r.status} | {r.fmt_floor()} | - | {fmt_s(r.floor_s)} | - | - |")
            continue
        targets = "; ".join(fmt_target(t, m) for t, m in r.targets) or "-"
        out.append(f"| {r.item} | {op} | {r.fmt_sent()} | {r.fmt_floor()} | {fmt_s(r.wall)} | "
                   f"{fmt_s(r.floor_s)} | {'-' if ratio is None else f'{ratio:.2f}'} | {targets} |")
    return "\n".join(out)


def details(rows):
    out = []
    for r in rows:
        lines = []
        over_under = r.extra_requests()
        if over_under and (over_under[0] or over_under[1]):
            over, under = over_under
            if over:
                lines.append("beyond the floor: " + ", ".join(f"{k} +{v}" for k, v in over.items()))
            if under:
                lines.append("fewer than the floor: " + ", ".join(f"{k} -{v}" for k, v in under.items()))
        if r.in_flight is not None and r.sent and r.floor is not None:
            lines.append(f"requests in flight: {r.in_flight:.1f} on average, {r.peak} at most "
                         f"(the floor keeps {r.floor.requests() / max(1, r.floor.rounds()):.1f} going "
                         f"over {r.floor.rounds()} rounds)")
        lines += r.notes
        if lines:
            out.append(f"- {r.item} {r.op}:\n" + "\n".join("    " + x for x in lines))
    return "\n".join(out)


# ---- helpers --------------------------------------------------------------------------------

ERRNO_TEXT = {os.strerror(code): name for code, name in errno.errorcode.items()}


def errno_of(stderr):
    """The errno name a tool's error message names, e.g. 'EROFS (Read-only file system)'."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    for message, name in sorted(ERRNO_TEXT.items(), key=lambda x: -len(x[0])):
        if message in text:
            return f"{name} ({message})"
    first = text.strip().splitlines()
    return first[0][:120] if first else "unknown error"


def log_analysis(server, latency_s, wall):
    """(mean, max) requests in flight, from the server's request log since the last reset.

    The log stamps each request when its answer is ready, about one latency after it started,
    so each request is taken to have run during [stamp - latency, stamp]. Mean in flight =
    requests x latency / wall time: about 1 when requests go one after another, up to 16 when
    the work keeps 16 going.
    """
    if not latency_s:
        return None, None
    stamps = sorted(e["t"] for e in server.requests())
    if not stamps or not wall:
        return 0.0, 0
    events = sorted([(t - latency_s, 1) for t in stamps] + [(t, -1) for t in stamps])
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return len(stamps) * latency_s / wall, peak


def max_per_window(stamps, window=1.0):
    """The most requests in any sliding window of `window` seconds."""
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def median_run(fn, n):
    results = [fn() for _ in range(n)]
    results.sort(key=lambda r: r.seconds)
    return results[len(results) // 2], results


def mp4_box(kind, payload):
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4_file(path, size, seed=12):
    """A valid MP4 of exactly `size` bytes at path: a ftyp box (isom), a moov box holding a
    movie header (mvhd: 1000 units a second, 10 s), and a mdat box of random bytes that ends at
    the file's end. Written in 1 MiB pieces."""
    ftyp = mp4_box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = mp4_box(b"mvhd", struct.pack(">IIIII", 0, 0, 0, 1000, 10_000) + struct.pack(">IH", 0x10000, 0x100)
                   + bytes(10) + matrix + bytes(24) + struct.pack(">I", 2))
    moov = mp4_box(b"moov", mvhd)
    rest = size - len(ftyp) - len(moov) - 8
    rng = random.Random(seed)
    with open(path, "wb") as f:
        f.write(ftyp + moov + struct.pack(">I4s", 8 + rest, b"mdat"))
        while rest > 0:
            n = min(rest, 1 << 20)
            f.write(rng.randbytes(n))
            rest -= n
    return Path(path)


def jpeg_bytes(rng, width, height, quality=90):
    from PIL import Image
    img = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def jpeg_of_size(target, seed=1):
    """A JPEG of about `target` bytes (noise does not compress)."""
    rng = random.Random(seed)
    side = max(64, int((target / 2.2) ** 0.5))
    data = jpeg_bytes(rng, side, side, 95)
    for _ in range(4):
        side = max(64, int(side * (target / len(data)) ** 0.5))
        data = jpeg_bytes(random.Random(seed), side, side, 95)
        if abs(len(data) - target) < target * 0.03:
            break
    return data


# ---- the benchmark --------------------------------------------------------------------------

class Bench:
    def __init__(self, cfg, pinfs, only):
        self.cfg = cfg
        self.pinfs = pinfs
        self.only = only
        self.rows = []
        self.failures = []
        self.latency_s = cfg["latency_ms"] / 1000
        self.server = None

    # -- bookkeeping --
    def wanted(self, item):
        return not self.only or item in self.only

    def row(self, item, op):
        r = Row(item, op)
        self.rows.append(r)
        return r

    def fail(self, row, what):
        row.status = f"failed: {what}"
        self.failures.append(f"{row.item} {row.op}: {what}")

    def mount(self, server=None, cache=None, opts=(), name="mnt"):
        cache = cache or harness.scratch(f"cache-{name}-{len(self.rows)}-{time.monotonic_ns()}")
        return Mount(server or self.server, self.pinfs, cache, opts, name=name)

    def unmount(self, m):
        status = m.unmount()
        if status != 0:
            self.failures.append(f"pinfs on {m.dir} exited with status {status}; log {m.logpath}")

    def check_alive(self, m, row):
        if not m.alive():
            self.fail(row, f"the mount died (pinfs status {m.proc.poll()}); log {m.logpath}")
            return False
        return True

    def measure(self, row, floor, work, latency_s=None, server=None):
        """Resets the counts, times work(), records requests, floor and the log's rounds."""
        server = server or self.server
        latency_s = self.latency_s if latency_s is None else latency_s
        server.reset()
        t0 = time.perf_counter()
        result = work()
        row.wall = time.perf_counter() - t0
        row.sent = Counter(server.counts())
        row.floor = floor
        row.floor_s = floor.seconds(latency_s) if floor is not None else None
        if floor is not None and floor.rounds() != floor.lower_bound():
            row.notes.append(f"floor schedule {floor.rounds()} rounds, lower bound {floor.lower_bound()}")
        row.in_flight, row.peak = log_analysis(server, latency_s, row.wall)
        return result

    def target_floor(self, row):
        over, under = row.extra_requests()
        extra = sum(over.values())
        row.target("requests = floor" + (f" (+{extra})" if extra else ""), not over)

    def target_cold(self, row, raw=None):
        self.target_floor(row)
        ratio = row.ratio()
        if ratio is not None:
            row.target(f"wall ≤ 1.5x floor ({ratio:.2f}x)", ratio <= 1.5)
        if raw is not None and raw.wall:
            row.target(f"wall ≤ 1.2x raw API ({row.wall / raw.wall:.2f}x)", row.wall <= 1.2 * raw.wall)

    def raw_row(self, item, op, floor, fn, runs=1, server=None):
        r = self.row(item, f"{op} — raw API script")
        server = server or self.server
        api = rawapi.Api(server.api, harness.TOKEN)

        def once():
            r.extra["result"] = self.measure(r, floor, lambda: fn(api), server=server)
            return r.extra["result"]
        try:
            self.median_of(r, once, runs) if runs > 1 else once()
        except Exception as exc:
            self.fail(r, f"{type(exc).__name__}: {exc}")
        return r

    # -- the account --
    def start_server(self):
        c = self.cfg
        seed = f"boards={c['boards']},pins={c['pins']},sections={c['sections']},big={c['big']}"
        self.server = FakeServer(seed, c["latency_ms"], c["image_scale"])
        state = self.server.admin("GET", "state")
        self.boards = state["boards"]                 # oldest first: the big one is first
        self.big = self.boards[0]
        self.travel = self.boards[1]
        # One picture of about big_image bytes, uploaded as a user would, for item 6.
        data = jpeg_of_size(c["big_image"])
        pin = self.server.v5("POST", "/pins", {
            "board_id": self.travel["id"], "title": "Big picture",
            "media_source": {"source_type": "image_base64", "content_type": "image/jpeg",
                             "data": base64.b64encode(data).decode()}})
        self.big_pin = pin
        self.big_image_size = len(data)
        state = self.server.admin("GET", "state")
        self.facts = self.account_facts(state)
        self.others = self.other_lists(state)
        sizes = self.image_sizes(state)
        self.warm_up(self.server, [url for p in state["pins"] if p["board_id"] == self.big["id"]
                                   and not p.get("board_section_id") for _, url in rawapi.shown_files(p)])
        self.size_note = (f"originals of {min(sizes) // 1024} KB to {max(sizes) // 1024} KB (median "
                          f"{statistics.median(sizes) // 1024} KB) in a sample of {len(sizes)} seeded pins, "
                          f"plus one uploaded JPEG of {len(data) / 1e6:.1f} MB")

    def warm_up(self, server, urls):
        """HEADs urls with no latency, before anything is timed. The fake server makes a pool
        picture's sizes (a video's frame is its 600x, a cover its originals) at the first
        request for one: the first `ls -l` of a board of videos would wait for that drawing,
        and the raw script after it would not."""
        server.set_latency(0)
        try:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(rawapi.head_size, urls))
        finally:
            server.set_latency(self.cfg["latency_ms"])

    def image_sizes(self, state, sample=300):
        rng = random.Random(3)
        pins = rng.sample(state["pins"], min(sample, len(state["pins"])))
        urls = [rawapi.image_url(p) for p in pins
                if p["id"] != self.big_pin["id"] and p["media"]["media_type"] == "image"]
        self.server.set_latency(0)
        try:
            with ThreadPoolExecutor(8) as pool:
                return list(pool.map(rawapi.head_size, urls))
        finally:
            self.server.set_latency(self.cfg["latency_ms"])

    @staticmethod
    def account_facts(state):
        """Per board: pins, sections, and the picture and video files its pins show
        (rawapi.shown_files: a main file each, a video's cover beside it, a carousel's other
        items), at its top and in all: what sizes cost a HEAD each."""
        facts = {}
        for b in state["boards"]:
            facts[b["id"]] = {"name": b["name"], "pins": 0, "top_images": 0, "top_videos": 0,
                              "images": 0, "videos": 0,
                              "sections": len(state["sections"].get(b["id"], []))}
        for p in state["pins"]:
            f = facts[p["board_id"]]
            f["pins"] += 1
            kinds = Counter(kind for kind, _ in rawapi.shown_files(p))
            images, videos = kinds["image"], kinds["video"]
            f["images"] += images
            f["videos"] += videos
            if not p.get("board_section_id"):
                f["top_images"] += images
                f["top_videos"] += videos
        return facts

    @staticmethod
    def other_lists(state):
        """How many items the list behind each folder beyond boards/ has, and the API path
        the raw script walks for it."""
        user = state["user"]["username"]
        return {
            "pins": (len(state["pins"]), "/pins"),
            "followers": (len(state["followers"]), "/user_account/followers"),
            "following/users": (len(state["following"]), "/user_account/following"),
            "following/boards": (len(state["following_boards"]), "/user_account/following/boards"),
            "following/interests": (len(state["interests"]), f"/users/{user}/interests/follow"),
        }

    @staticmethod
    def shown_others(m, others):
        """{folder: items} for the folders beyond boards/ that this pinfs fills (a build
        without them shows them empty, and a walk of it costs nothing there). Call once
        the walk is done: the listings are then warm and cost no request."""
        shown = {}
        for folder, (n, _) in others.items():
            try:
                if n and os.listdir(m.path(folder)):
                    shown[folder] = n
            except OSError:
                pass
        return shown

    def add_others(self, row, shown, latency_s=None):
        """Adds the lists of the folders a walk entered to the row's floor."""
        if not shown:
            return
        floors.other_folders(row.floor, shown)
        latency_s = self.latency_s if latency_s is None else latency_s
        row.floor_s = row.floor.seconds(latency_s) if row.floor_s is not None else None
        row.notes.append("the walk enters " + ", ".join(f"{k}/" for k in shown) +
                         ": the floor has their lists (pins/ from GET /pins, as docs/design.md maps it)")

    def all_board_facts(self):
        return [self.facts[b["id"]] for b in self.boards]

    # -- 1 --
    def item1(self):
        row = self.row("1", "mount, then `ls boards`")
        floor = floors.mount_and_ls_boards(len(self.boards))

        def once():
            box = {}

            def work():
                box["m"] = m = self.mount(name="m1")
                return run(["ls", str(m.path("boards"))])
            try:
                r = self.measure(row, floor, work)
            finally:
                if "m" in box:
                    self.unmount(box["m"])
            if not r.ok:
                self.fail(row, f"ls: {errno_of(r.stderr)}")
            elif len(r.stdout.splitlines()) != len(self.boards):
                self.fail(row, f"ls showed {len(r.stdout.splitlines())} boards of {len(self.boards)}")
            return None if row.status else r
        self.median_of(row, once)
        inproc = self.raw_row("1", "`ls boards`", self.floor_boards_only(), rawapi.ls_boards, runs=3)
        inproc.notes.append("timed inside a Python already running, its connection code loaded")
        raw = self.curl_boards_row()
        row.notes.append("the raw script needs no GET /user_account: pinfs asks for it before mounting, "
                         "to refuse a bad token with one clear line")
        if inproc.wall and row.wall:
            row.notes.append(f"{row.wall / inproc.wall:.2f}x the Python script timed from inside")
        if not row.status:
            self.target_cold(row, raw)

    def curl_boards_row(self):
        """The boards with curl from a shell, timed as pinfs is: from the start of its process.

        pinfs's row counts the start of a program linked with libcurl; a script timed from
        inside a running interpreter counts none, so this is the like-for-like script."""
        r = self.row("1", "`ls boards` — raw API with curl, from the start of its process")
        url = f"{self.server.api}/boards?page_size=250"
        argv = ["curl", "-s", "-f", "-H", f"Authorization: Bearer {harness.TOKEN}", url]

        def once():
            out = self.measure(r, self.floor_boards_only(), lambda: run(argv))
            if not out.ok:
                self.fail(r, f"curl exited with status {out.returncode}")
                return None
            page = json.loads(out.stdout)
            if page.get("bookmark") or len(page["items"]) != len(self.boards):
                self.fail(r, f"curl got {len(page['items'])} boards of {len(self.boards)} in one page")
                return None
            return out
        try:
            self.median_of(r, once)
        except Exception as exc:
            self.fail(r, f"{type(exc).__name__}: {exc}")
        return r

    def median_of(self, row, once, runs=3):
        """Runs once() (one measured run into row) runs times; keeps the run of median wall time.

        For the rows short enough (tens of milliseconds) that one run is mostly noise. once()
        returns None when the run failed (the rest are not run), else what the caller keeps
        of it; median_of returns that of the median run."""
        kept = []
        for _ in range(runs):
            got = once()
            if got is None:
                return None
            kept.append((row.wall, row.sent, row.in_flight, row.peak, got))
        kept.sort(key=lambda k: k[0])
        row.wall, row.sent, row.in_flight, row.peak, got = kept[len(kept) // 2]
        row.notes.append(f"median of {runs} runs: " + ", ".join(fmt_s(k[0]) for k in kept))
        return got

    def floor_boards_only(self):
        f = floors.Floor()
        f.chain("GET /boards", floors.pages(len(self.boards)))
        return f

    # -- 2 --
    def item2(self):
        big = self.facts[self.big["id"]]
        name = self.big["name"]
        cache = harness.scratch("cache-m2")
        m = self.mount(cache=cache, name="m2")
        path = str(m.path("boards", folder(name)))
        cold = self.row("2", f"`ls -l` of the {big['pins']}-pin board, cold")
        try:
            r = self.measure(cold, floors.ls_l_cold(len(self.boards), big), lambda: run(["ls", "-l", path]))
            if not r.ok:
                self.fail(cold, f"ls -l: {errno_of(r.stderr)}")
                return
            entries = len(r.stdout.splitlines()) - 1
            cold.notes.append(f"{entries} entries listed ({big['top_images']} images and "
                              f"{big['top_videos']} videos at the top, "
                              f"{big['sections']} section(s))")
            zero = sum(1 for line in r.stdout.decode(errors="replace").splitlines()[1:]
                       if line.split()[4:5] == ["0"] and not line.startswith("d"))
            if zero:
                cold.notes.append(f"{zero} files showed size 0")
            warm = self.row("2", "`ls -l` of the same board, warm (within the TTL)")
            runs = []
            self.measure(warm, floors.nothing(), lambda: runs.extend(
                median_run(lambda: run(["ls", "-l", path]), self.cfg["warm_runs"])[1]))
            if not all(x.ok for x in runs):
                self.fail(warm, "ls -l failed")
                return
            warm.wall = statistics.median(x.seconds for x in runs)
            warm.notes.append(f"median of {len(runs)} runs: " + ", ".join(fmt_s(x.seconds) for x in runs))
            copy = self.tmpfs_listing_copy(m.path("boards", folder(name)))
            tmp_med, tmp_runs = median_run(lambda: run(["ls", "-l", str(copy)]), self.cfg["warm_runs"])
            tmp = self.row("2", "`ls -l` of a tmpfs copy of that listing (names, sizes)")
            tmp.wall = tmp_med.seconds
            warm.target("0 requests", sum(warm.sent.values()) == 0)
            warm.target(f"wall ≤ 3x tmpfs ({warm.wall / tmp.wall:.1f}x)", warm.wall <= 3 * tmp.wall)
            cold_raw = self.raw_row("2", "`ls -l` cold", floors.ls_l_cold(len(self.boards), big),
                                    lambda api: rawapi.ls_l(api, name))
            self.target_cold(cold, cold_raw)
            # move the raw row just after the cold row
            self.rows.remove(cold_raw)
            self.rows.insert(self.rows.index(cold) + 1, cold_raw)
        finally:
            self.unmount(m)
        row = self.row("2", "`ls -l` of the same board after a remount (same cache_dir)")
        m = self.mount(cache=cache, name="m2b")
        try:
            r = self.measure(row, floors.ls_l_remount(len(self.boards), big),
                             lambda: run(["ls", "-l", str(m.path("boards", folder(name)))]))
            if not r.ok:
                self.fail(row, f"ls -l: {errno_of(r.stderr)}")
            else:
                self.target_cold(row)
        finally:
            self.unmount(m)

    def tmpfs_listing_copy(self, src):
        """The folder's names and sizes (sparse files) and its sections, on /dev/shm."""
        dst = Path(shm_dir("ls-copy"))
        for entry in os.scandir(src):
            st = entry.stat(follow_symlinks=False)
            target = dst / entry.name
            if entry.is_dir(follow_symlinks=False):
                target.mkdir()
            else:
                with open(target, "wb") as f:
                    f.truncate(st.st_size)
        return dst

    # -- 3 --
    def find_json(self, m):
        return run_pipe(["find", str(m.dir), "-name", "*.json"], ["wc", "-l"])

    def item3(self):
        row = self.row("3", "`find MOUNT -name '*.json' | wc -l`, cold")
        floor = floors.list_account(self.all_board_facts())
        m = self.mount(name="m3")
        try:
            r = self.measure(row, floor, lambda: self.find_json(m))
            if not r.ok:
                self.fail(row, f"find: {errno_of(r.stderr)}")
                return
            row.extra["count"] = int(r.stdout.strip() or 0)
            shown = self.shown_others(m, self.others)
            self.add_others(row, shown)
            self.shown = shown        # item 10 walks the same
            self.check_alive(m, row)
        finally:
            self.unmount(m)
        paths = [self.others[k][1] for k in shown]
        raw = self.raw_row("3", "count the JSON files", row.floor, lambda api: rawapi.count_json(api, paths))
        if raw.extra.get("result") is not None and raw.extra["result"] != row.extra.get("count"):
            row.notes.append(f"find counted {row.extra.get('count')}, the raw script {raw.extra['result']}")
        self.target_cold(row, raw)

    # -- 4 --
    def grep(self, root):
        return run(["grep", "-rl", NEEDLE, str(root), "--include=*.json"])

    def item4(self):
        cold = self.row("4", f"`grep -rl {NEEDLE} MOUNT/boards --include='*.json'`, cold")
        floor = floors.list_account(self.all_board_facts())
        m = self.mount(name="m4")
        try:
            r = self.measure(cold, floor, lambda: self.grep(m.path("boards")))
            if r.returncode not in (0, 1):
                self.fail(cold, f"grep: {errno_of(r.stderr)}")
                return
            cold.extra["matches"] = len(r.stdout.splitlines())
            raw = self.raw_row("4", f"search the pins' JSON for {NEEDLE!r}", floor,
                               lambda api: rawapi.grep(api, NEEDLE))
            self.rows.remove(raw)
            warm = self.row("4", "the same `grep`, warm")
            runs = []
            self.measure(warm, floors.nothing(), lambda: runs.extend(
                median_run(lambda: self.grep(m.path("boards")), self.cfg["warm_runs"])[1]))
            if any(x.returncode not in (0, 1) for x in runs):
                self.fail(warm, "grep failed")
                return
            warm.wall = statistics.median(x.seconds for x in runs)
            warm.notes.append(f"median of {len(runs)} runs: " + ", ".join(fmt_s(x.seconds) for x in runs))
            copy = self.tmpfs_json_copy(m.path("boards"))
            tmp_med, _ = median_run(lambda: self.grep(copy), self.cfg["warm_runs"])
            tmp = self.row("4", "the same `grep` on a tmpfs copy of the tree (JSON files, empty images)")
            tmp.wall = tmp_med.seconds
            warm.target("0 requests", sum(warm.sent.values()) == 0)
            warm.target(f"wall ≤ 3x tmpfs ({warm.wall / tmp.wall:.1f}x)", warm.wall <= 3 * tmp.wall)
            least_cold, least = self.fuse_floor_grep(copy)
            if least.wall:
                warm.target(f"{warm.wall / least.wall:.2f}x the least FUSE file system", None)
            self.rows.insert(self.rows.index(cold) + 1, raw)
            self.rows.remove(least_cold)
            self.rows.insert(self.rows.index(raw) + 1, least_cold)
            self.target_cold(cold, raw)
            if least_cold.wall:
                cold.target(f"{cold.wall / least_cold.wall:.2f}x the least FUSE file system, cold", None)
            self.check_alive(m, warm)
        finally:
            self.unmount(m)

    def fuse_floor_grep(self, copy):
        """The grep through tests/bench/fusefloor serving the tmpfs copy from memory: each open
        and close of a file still goes to the daemon, which answers at once. Cold (the first
        run on a fresh mount: the kernel looks up every name, makes its inodes and fills its
        pages, with no network at all; the median of 3 mounts) and warm (the median of the
        warm runs on the last mount). What no FUSE file system can go below on this machine.
        Returns the two rows."""
        what = "(`tests/bench/fusefloor`: the tmpfs copy from memory, every request answered at once)"
        cold = self.row("4", f"the same `grep`, cold, through the least FUSE file system {what[:-1]}; "
                             "a fresh mount each run, no network)")
        row = self.row("4", f"the same `grep` through the least FUSE file system {what}")
        program = Path(os.environ.get("FUSEFLOOR_BIN", self.pinfs.parent / "tests" / "fusefloor"))
        if not os.access(program, os.X_OK):
            cold.status = row.status = f"not available: {program} is not built"
            return cold, row
        colds = []
        every = lambda root: run(["grep", "-rL", NEEDLE, str(root), "--include=*.json"])
        want = every(copy)
        for i in range(3):
            fm = harness.FloorMount(program, copy)
            try:
                first = self.grep(fm.dir)
                colds.append(first.seconds)
                # Every file the copy has must be seen: the fs serves the whole tree.
                seen = every(fm.dir)
                if any(r.returncode not in (0, 1) for r in (first, seen, want)) or \
                        len(seen.stdout.splitlines()) != len(want.stdout.splitlines()):
                    self.fail(row, "grep through fusefloor did not read the same files as on tmpfs")
                    self.fail(cold, "grep through fusefloor did not read the same files as on tmpfs")
                    return cold, row
                if i == 2:
                    med, runs = median_run(lambda: self.grep(fm.dir), self.cfg["warm_runs"])
                    row.wall = med.seconds
                    row.notes.append(f"median of {len(runs)} runs: " + ", ".join(fmt_s(x.seconds) for x in runs))
                if not fm.alive():
                    self.fail(row, f"fusefloor died; log {fm.logpath}")
            finally:
                if fm.unmount() != 0:
                    self.failures.append(f"fusefloor exited with status {fm.exit_status}; log {fm.logpath}")
        colds.sort()
        cold.wall = colds[1]
        cold.notes.append("median of 3 mounts: " + ", ".join(fmt_s(x) for x in colds))
        return cold, row

    def tmpfs_json_copy(self, src):
        dst = Path(shm_dir("grep-copy"))
        for dirpath, dirnames, filenames in os.walk(src):
            rel = Path(dirpath).relative_to(src)
            (dst / rel).mkdir(parents=True, exist_ok=True)
            for name in filenames:
                if name.endswith(".json"):
                    shutil.copyfile(Path(dirpath) / name, dst / rel / name)
                else:
                    (dst / rel / name).touch()
        return dst

    # -- 5 --
    def item5(self):
        c = self.cfg
        big = self.facts[self.big["id"]]
        n = min(c["thumbs"], big["top_images"])
        row = self.row("5", f"thumbnailer: list the board, read the first 64 KiB of {n} images, "
                            f"16 parallel readers, cold")
        floor = floors.thumbnails(len(self.boards), big, n)
        m = self.mount(name="m5")
        fdir = m.path("boards", folder(self.big["name"]))

        def read_head(path):
            fd = os.open(path, os.O_RDONLY)
            try:
                got = 0
                while got < c["thumb_bytes"]:
                    b = os.read(fd, c["thumb_bytes"] - got)
                    if not b:
                        break
                    got += len(b)
                return got
            finally:
                os.close(fd)

        def work():
            names = sorted(x for x in os.listdir(fdir) if x.lower().endswith(IMAGE_EXT))[:n]
            with ThreadPoolExecutor(16) as pool:
                return list(pool.map(read_head, [fdir / x for x in names]))
        try:
            got = self.measure(row, floor, work)
            fetched = sum(f.stat().st_size for f in (m.cache_dir / "images").glob("*") if f.is_file())
            row.notes.append(f"read {sum(got) / 1e6:.1f} MB from {len(got)} images (os.open + os.read, "
                             f"16 threads); pinfs downloaded {fetched / 1e6:.1f} MB into its cache")
            self.check_alive(m, row)
        except OSError as exc:
            self.fail(row, f"{errno.errorcode.get(exc.errno, exc.errno)}: {exc}")
        finally:
            self.unmount(m)
        raw = self.raw_row("5", f"first 64 KiB of {n} images (Range GETs)", floor,
                           lambda api: rawapi.thumbnails(api, self.big["name"], n, c["thumb_bytes"]))
        if not row.status:
            self.target_cold(row, raw)

    # -- 6 --
    def item6(self):
        size = self.big_image_size
        url = self.big_pin["media"]["images"]["originals"]["url"]
        row = self.row("6", f"`cat` of one {size / 1e6:.1f} MB image (its folder listed, sizes known)")

        def once():
            """One cold cat: a fresh mount and cache, its board listed first."""
            m = self.mount(name="m6")
            try:
                fdir = m.path("boards", folder(self.travel["name"]))
                warm = run(["ls", "-l", str(fdir)])   # names and sizes known, image not fetched
                if not warm.ok:
                    self.fail(row, f"ls -l: {errno_of(warm.stderr)}")
                    return None
                line = next((x for x in warm.stdout.decode().splitlines() if "Big picture" in x), None)
                if line is None:
                    self.fail(row, "the uploaded picture is not in its board")
                    return None
                path = fdir / line.split(None, 8)[8]
                res = self.measure(row, floors.one_image(), lambda: timed_cat(path))
                if res["rc"] != 0 or res["bytes"] != size:
                    self.fail(row, f"cat gave {res['bytes']} bytes of {size}, status {res['rc']}")
                    return None
                res["again"] = timed_cat(path)["total"]
                return res if self.check_alive(m, row) else None
            finally:
                self.unmount(m)
        res = self.median_of(row, once)
        if res is None:
            return
        # Both programs are timed alike: from their start to their last byte, read through
        # the same pipe, median of 3. Throughput leaves out each one's own start, measured on
        # an empty file (curl, linked with libcurl and its 30 libraries, starts about 6 ms
        # later than cat); curl's own timer is given beside it.
        curls = [timed_fetch(["curl", "-s", "-f", url]) for _ in range(3)]
        curl = sorted(curls, key=lambda x: x["total"])[1]
        if curl["rc"] != 0 or curl["bytes"] != size:
            self.fail(row, f"curl gave {curl['bytes']} bytes of {size}, status {curl['rc']}")
            return
        own = sorted(curl_timing(url)["total"] for _ in range(3))[1]
        cat_start = program_start(["cat", "/dev/null"])
        curl_start = program_start(["curl", "-s", "file:///dev/null"])
        mbps = size / (row.wall - cat_start) / 1e6
        curl_mbps = size / (curl["total"] - curl_start) / 1e6
        row.extra.update(ttfb_s=res["ttfb"], mb_per_s=mbps, start_s=cat_start, curl_ttfb_s=curl["ttfb"],
                         curl_mb_per_s=curl_mbps, curl_start_s=curl_start, curl_own_timer_s=own)
        self.target_floor(row)
        ratio = mbps / curl_mbps
        row.target(f"throughput ≥ 80% of curl ({ratio * 100:.0f}%)", ratio >= 0.8)
        row.target(f"first byte after {fmt_s(res['ttfb'] - cat_start)} "
                   f"(curl {fmt_s(curl['ttfb'] - curl_start)})", None)
        row.notes.append(
            f"pinfs: first byte {fmt_s(res['ttfb'])} and last {fmt_s(row.wall)} after cat's start, "
            f"which takes {fmt_s(cat_start)}: {mbps:.1f} MB/s; curl (median of 3): "
            f"{fmt_s(curl['ttfb'])} and {fmt_s(curl['total'])} after its start, which takes "
            f"{fmt_s(curl_start)}: {curl_mbps:.1f} MB/s")
        row.notes.append(
            f"curl's own timer (to /dev/null, median of 3): {fmt_s(own)}, {size / own / 1e6:.1f} MB/s; "
            f"cat's whole time against it: {size / row.wall / (size / own) * 100:.0f}%")
        row.notes.append(f"a second cat (cached): {fmt_s(res['again'])}")
        crow = self.row("6", "curl of the same URL (median of 3, timed as `cat` is)")
        crow.wall = curl["total"]
        crow.floor = floors.one_image()
        crow.floor_s = crow.floor.seconds(self.latency_s)
        crow.sent = Counter({"GET /img": 1})
        crow.notes.append(f"first byte after {fmt_s(curl['ttfb'])}")

    # -- 7 and 8 --
    def sources(self, n, tag):
        d = harness.scratch(f"src-{tag}")
        rng = random.Random(tag)
        files = []
        for i in range(n):
            p = d / f"bench {tag} {i:03d}.jpg"
            p.write_bytes(jpeg_bytes(rng, 160 + i % 7 * 16, 120 + i % 5 * 16, 90))
            files.append(str(p))
        return files

    def write_row(self, row, floor, work, m):
        r = self.measure(row, floor, work)
        if not r.ok:
            done = sum(n for route, n in row.sent.items() if not route.startswith(("GET", "HEAD")))
            row.status = f"not available: {errno_of(r.stderr)}" + (f" ({done} write requests sent)" if done else "")
            row.extra["stderr"] = r.stderr.decode(errors="replace")[:2000]
            self.check_alive(m, row)
            return False
        self.target_cold(row)
        self.check_alive(m, row)
        return True

    def item7_8(self):
        c = self.cfg
        n, workers = c["writes"], c["xargs"]
        target, src_board, dst_board, rm_board = self.boards[2], self.boards[3], self.boards[4], self.boards[5]
        m = self.mount(name="m7")
        try:
            for b in (target, src_board, dst_board, rm_board):   # listed and sized: warm
                warm = run(["ls", "-l", str(m.path("boards", folder(b["name"])))])
                if not warm.ok:
                    raise RuntimeError(f"ls -l {b['name']}: {errno_of(warm.stderr)}")
            into = str(m.path("boards", folder(target["name"])))
            seq = self.row("7", f"`cp` of {n} images into a board, one after another")
            files = self.sources(n, "seq")
            ok_seq = self.write_row(seq, floors.one_after_another("POST /v5/pins", n),
                                    lambda: run(["cp", *files, into + "/"]), m)
            par = self.row("7", f"the same with `xargs -P{workers}`")
            files = self.sources(n, "par")
            ok_par = self.write_row(par, floors.in_parallel("POST /v5/pins", n, workers),
                                    lambda: run(["xargs", "-0", f"-P{workers}", "-n1", "cp", "-t", into],
                                                stdin=b"\0".join(f.encode() for f in files)), m)
            if ok_seq and ok_par:
                speedup = seq.wall / par.wall
                par.target(f"≥ 5x faster than sequential ({speedup:.1f}x)", speedup >= 5)
            mv = self.row("8", f"`mv` of {n} pins to another board")
            names = self.top_images(m, src_board, n, avoid=m.path("boards", folder(dst_board["name"])))
            self.write_row(mv, floors.one_after_another("PATCH /v5/pins/{pin_id}", n),
                           lambda: run(["mv", *names, str(m.path("boards", folder(dst_board["name"]))) + "/"]), m)
            rm = self.row("8", f"`rm` of {n} pins")
            names = self.top_images(m, rm_board, n)
            self.write_row(rm, floors.one_after_another("DELETE /v5/pins/{pin_id}", n),
                           lambda: run(["rm", *names]), m)
        finally:
            self.unmount(m)

    def top_images(self, m, board, n, avoid=None):
        """The pictures of the first n image pins at a board's top (their sidecar says
        media_type image: a video's cover or a carousel's other items cannot be moved or
        removed alone, EPERM); with `avoid`, only those whose image and JSON names are free
        there (mv onto an existing pin is refused: it cannot be replaced)."""
        fdir = m.path("boards", folder(board["name"]))
        taken = {os.path.splitext(x)[0] for x in os.listdir(avoid)} if avoid else set()
        names = sorted(x for x in os.listdir(fdir)
                       if x.lower().endswith(IMAGE_EXT) and os.path.splitext(x)[0] not in taken)
        picked = []
        for x in names:
            try:
                sidecar = json.loads((fdir / (os.path.splitext(x)[0] + ".json")).read_text())
            except (OSError, ValueError):
                continue
            if sidecar.get("media_type") == "image":
                picked.append(str(fdir / x))
                if len(picked) == n:
                    break
        return picked

    # -- 11 --
    def item11(self):
        """`ls -l` of a board where a third of the pins are videos or carousels, cold, on a
        server of its own seeded with media=33: a HEAD for every file shown."""
        c = self.cfg
        seed = f"boards=2,pins=20,sections=2,big={c['kinds_pins']},media={c['kinds_media']}"
        server = FakeServer(seed, c["latency_ms"], 1.0, name="server-kinds")
        try:
            state = server.admin("GET", "state")
            board = state["boards"][0]
            facts = self.account_facts(state)[board["id"]]
            pins = [p for p in state["pins"] if p["board_id"] == board["id"]]
            top = [p for p in pins if not p.get("board_section_id")]
            kinds = Counter(p["media"]["media_type"] for p in pins)
            others = len(pins) - kinds["image"]
            files = [f for p in top for f in rawapi.shown_files(p)]
            self.warm_up(server, [url for _, url in files])
            row = self.row("11", f"`ls -l` of a {len(pins)}-pin board, {others} of them videos or "
                                 f"carousels, cold")
            floor = floors.ls_l_cold(len(state["boards"]), facts)
            row.extra.update(kinds=dict(kinds), top_pins=len(top), files_shown=len(files))
            row.notes.append(
                f"the board's pins: {', '.join(f'{n} {k}' for k, n in kinds.most_common())}; "
                f"at its top {len(top)} pins show {len(files)} files ({len(top)} main, "
                f"{len(files) - len(top)} beside them): {facts['top_images']} pictures and covers "
                f"(HEAD /img), {facts['top_videos']} videos (HEAD /vid); {facts['sections']} section(s)")
            m = self.mount(server=server, name="m11")
            try:
                path = str(m.path("boards", folder(board["name"])))
                r = self.measure(row, floor, lambda: run(["ls", "-l", path]), server=server)
                if not r.ok:
                    self.fail(row, f"ls -l: {errno_of(r.stderr)}")
                    return
                lines = r.stdout.decode(errors="replace").splitlines()[1:]
                shown = [x for x in lines if not x.startswith("d") and not x.endswith(".json")]
                if len(shown) != len(files):
                    row.notes.append(f"ls -l showed {len(shown)} files other than sidecars, "
                                     f"the server's state {len(files)}")
                zero = sum(1 for x in shown if x.split()[4:5] == ["0"])
                if zero:
                    row.notes.append(f"{zero} files showed size 0")
                self.check_alive(m, row)
            finally:
                self.unmount(m)
            raw = self.raw_row("11", "`ls -l` of that board cold", floor,
                               lambda api: rawapi.ls_l(api, board["name"]), server=server)
            if not row.status:
                self.target_cold(row, raw)
        finally:
            server.stop()

    # -- 12 --
    def item12(self):
        """`cp` of a video into a board: POST /media, the upload, the polls, POST /pins; next to
        a raw script doing the same four steps with the same bytes."""
        c = self.cfg
        size = c["video_bytes"]
        board = self.boards[2]
        src = mp4_file(harness.scratch("src-video") / f"bench video {size // 1_000_000} MB.mp4", size)
        settings = self.server.admin("GET", "media")
        m = self.mount(name="m12")
        try:
            into = m.path("boards", folder(board["name"]))
            warm = run(["ls", "-l", str(into)])   # listed and sized first, as item 7
            if not warm.ok:
                raise RuntimeError(f"ls -l {board['name']}: {errno_of(warm.stderr)}")
            row = self.row("12", f"`cp` of a {size / 1e6:.0f} MB video into a board "
                                 "(processed at the first poll)")
            ok = self.video_row(row, m, src, into, polls=0)
            self.server.admin("POST", "media/settings", {"processing_polls": 0})
            raw = self.raw_row("12", "the same four steps (`POST /media`, upload, poll, `POST /pins`)",
                               floors.video_upload(1),
                               lambda api: rawapi.upload_video(api, board["id"], str(src), "raw video"))
            self.rows.remove(raw)
            self.rows.insert(self.rows.index(row) + 1, raw)
            result = raw.extra.get("result")
            if result:
                raw.notes.append("steps: " + ", ".join(f"{k} {fmt_s(v)}" for k, v in result["steps"].items()))
                got = self.media_record(result["media_id"])
                if got["size"] != size or got["sha256"] != hashlib.sha256(src.read_bytes()).hexdigest():
                    self.fail(raw, "the server did not store the file's bytes")
            if ok:
                self.target_floor(row)
            if ok and raw.wall and not raw.status:
                row.target(f"wall ≤ 1.2x raw API ({row.wall / raw.wall:.2f}x)", row.wall <= 1.2 * raw.wall)
            slow = self.row("12", "the same `cp` with one `processing` answer first (the fake "
                                  "server's default)")
            if self.video_row(slow, m, src.with_name(src.stem + " again.mp4"), into, polls=1,
                              link=src):
                self.target_floor(slow)
                if row.wall:
                    slow.target(f"{slow.wall - row.wall:+.2f} s against the first poll's success", None)
        finally:
            self.unmount(m)
            self.server.admin("POST", "media/settings", {"processing_polls": settings["processing_polls"]})

    def media_record(self, media_id):
        return next(x for x in self.server.admin("GET", "media")["media"] if x["media_id"] == media_id)

    def video_row(self, row, m, src, into, polls, link=None):
        """Times `cp src into/` with the server answering `processing` to `polls` polls after
        the upload; checks the pin got the file's bytes. link: src is made as a hard link of it."""
        if link is not None and not src.exists():
            os.link(link, src)
        self.server.admin("POST", "media/settings", {"processing_polls": polls})
        before = {x["media_id"] for x in self.server.admin("GET", "media")["media"]}
        clock = {}

        def work():
            clock["start"] = time.time()   # the server's log stamps are time.time()
            r = run(["cp", str(src), str(into) + "/"])
            clock["end"] = time.time()
            return r
        r = self.measure(row, floors.video_upload(polls + 1), work)
        if not r.ok:
            done = sum(n for route, n in row.sent.items() if not route.startswith(("GET", "HEAD")))
            row.status = f"not available: {errno_of(r.stderr)}" + (f" ({done} write requests sent)" if done else "")
            row.extra["stderr"] = r.stderr.decode(errors="replace")[:2000]
            self.check_alive(m, row)
            return False
        new = [x for x in self.server.admin("GET", "media")["media"] if x["media_id"] not in before]
        size = src.stat().st_size
        if len(new) != 1 or new[0]["size"] != size or not new[0]["pin_id"] or \
                new[0]["sha256"] != hashlib.sha256(src.read_bytes()).hexdigest():
            self.fail(row, f"the server holds {len(new)} new media uploads, not one pin with the file's bytes")
            return False
        row.extra.update(bytes=size, polls=new[0]["polls"], processing_polls=polls)
        row.notes.append(f"{size:,} bytes; the server answered `processing` to {polls} poll(s) after the "
                         f"upload; pinfs polled {new[0]['polls']} time(s); floor time without the transfer")
        self.video_phases(row, clock)
        return self.check_alive(m, row)

    def video_phases(self, row, clock):
        """Where a video copy's time went, from the server's log (each request stamped when its
        answer was ready): before the first request, the upload, the polls and the pin, after."""
        answered = {}
        for e in self.server.requests():
            answered.setdefault(e["route"], e["t"])   # the first of each route
        try:
            register, upload, pin = (answered[k] for k in ("POST /v5/media", "POST /_media_upload", "POST /v5/pins"))
        except KeyError:
            return
        phases = {"before_first_request_s": register - self.latency_s - clock["start"],
                  "upload_s": upload - register, "polls_and_pin_s": pin - upload,
                  "after_pin_s": clock["end"] - pin}
        row.extra["phases"] = phases
        row.notes.append(
            f"from the server's log: the first request went out {fmt_s(phases['before_first_request_s'])} "
            f"after cp started (cp writing the file into the mount, checked at its close); the upload was "
            f"answered {fmt_s(phases['upload_s'])} after the registration (a latency and the transfer); "
            f"the poll(s) and POST /pins took {fmt_s(phases['polls_and_pin_s'])}; cp ended "
            f"{fmt_s(phases['after_pin_s'])} after the pin's answer (pinfs keeps the file's bytes for "
            f"the new pin, with an fsync, before the close returns)")

    # -- 10 --
    def item10(self):
        row = self.row("10", "`find` of item 3 with `-o max_rps=20`")
        floor = floors.list_account(self.all_board_facts())
        m = self.mount(opts=("max_rps=20",), name="m10")
        try:
            r = self.measure(row, floor, lambda: self.find_json(m))
            if not r.ok:
                self.fail(row, f"find: {errno_of(r.stderr)}")
                return
            self.add_others(row, self.shown_others(m, self.others))
            stamps = [e["t"] for e in self.server.requests()]
            worst = max_per_window(stamps)
            row.extra["max_per_second"] = worst
            # At 20 a second the floor's requests cannot start closer than 50 ms apart: the
            # last starts (n - 1) / 20 s after the first and takes one latency.
            paced = (floor.requests() - 1) / 20 + self.latency_s
            row.floor_s = max(row.floor_s, paced)
            row.notes.append(f"floor time: {floor.requests()} requests started 1/20 s apart, the last "
                             f"answered one latency later ({fmt_s(paced)})")
            row.target(f"≤ 20 requests in any 1-s window (max {worst})", worst <= 20)
            self.check_alive(m, row)
        finally:
            self.unmount(m)

    # -- 9 --
    def item9(self):
        c = self.cfg
        seed = f"boards={c['mem_boards']},pins={c['mem_pins']},sections={c['mem_sections']}"
        server = FakeServer(seed, 0, 1.0, name="server-mem")
        try:
            state = server.admin("GET", "state")
            facts = self.account_facts(state)
            others = self.other_lists(state)
            del state
            ttl = c["mem_ttl"]
            m = self.mount(server=server, opts=(f"dir_cache_ttl={ttl}",), name="m9")
            try:
                first = self.row("9", f"`ls -lR` of an account of {c['mem_pins']:,} pins, no latency")
                floor = floors.list_account(list(facts.values()))
                floor.fan("HEAD /img", sum(f["images"] for f in facts.values()), [])
                floor.fan("HEAD /vid", sum(f["videos"] for f in facts.values()), [])
                r = self.measure(first, floor, lambda: run(["ls", "-lR", str(m.dir)]), latency_s=0, server=server)
                if not r.ok:
                    self.fail(first, f"ls -lR: {errno_of(r.stderr)}")
                    return
                self.ttl_refreshes(first, ttl)
                shown = self.shown_others(m, others)
                self.add_others(first, shown, latency_s=0)
                covers = self.followed_images(m) if "following/boards" in shown else 0
                if covers:
                    first.floor.fan("HEAD /img", covers)
                    first.notes.append(f"and the sizes of the {covers} covers and thumbnails of followed boards")
                lines = r.stdout.count(b"\n")
                del r
                rss1 = m.rss_kb()
                first.extra["rss_kb"] = rss1
                first.notes.append(f"{lines:,} lines of output; pinfs VmRSS after: {rss1 / 1024:.1f} MB")
                self.target_floor(first)
                first.target(f"RSS ≤ 100 MB ({rss1 / 1024:.1f} MB)", rss1 <= 100 * 1024)
                time.sleep(ttl + 1)
                second = self.row("9", f"the same `ls -lR` once the TTL ({ttl} s) has expired")
                f2 = floors.Floor()
                f2.chain("GET /boards", floors.pages(len(facts)))
                r = self.measure(second, f2, lambda: run(["ls", "-lR", str(m.dir)]), latency_s=0, server=server)
                if not r.ok:
                    self.fail(second, f"ls -lR: {errno_of(r.stderr)}")
                    return
                del r
                self.ttl_refreshes(second, ttl)
                people = {k: v for k, v in shown.items() if k != "pins"}
                if people:
                    floors.other_folders(second.floor, people)
                    second.notes.append("the lists of people and interests have no stamp: the floor "
                                        "asks them again; pins/ not, as no board's "
                                        "board_pins_modified_at changed")
                rss2 = m.rss_kb()
                second.extra["rss_kb"] = rss2
                growth = (rss2 - rss1) / rss1 * 100
                second.notes.append(f"pinfs VmRSS after: {rss2 / 1024:.1f} MB ({growth:+.1f}%)")
                self.target_floor(second)
                second.target(f"RSS grows < 10% ({growth:+.1f}%)", growth < 10)
                second.notes.append("floor: GET /boards tells that no board changed: no board is listed again")
                self.check_alive(m, second)
            finally:
                self.unmount(m)
        finally:
            server.stop()

    @staticmethod
    def followed_images(m):
        """Image files in the folders of followed boards (ls -l learns their sizes)."""
        n = 0
        for _, _, files in os.walk(m.path("following", "boards")):
            n += sum(1 for x in files if x.lower().endswith(IMAGE_EXT))
        return n

    @staticmethod
    def ttl_refreshes(row, ttl):
        """A walk longer than the TTL must ask GET /boards again when the list has expired and
        the walk looks into boards/ (freshness: remote changes show within the TTL)."""
        row.floor_s = None
        # At most one per TTL begun after the first; and only those the walk needed (a part of
        # the walk that never looked into boards/ needed none), as seen in what was sent.
        sent = row.sent.get("GET /v5/boards", 0) - row.floor.by_route()["GET /boards"]
        again = min(math.ceil(row.wall / ttl) - 1, max(0, sent))
        if again > 0:
            row.floor.fan("GET /boards", again)
            row.notes.append(f"the walk took {fmt_s(row.wall)}, longer than the TTL ({ttl} s): the floor "
                             f"counts {again} more GET /boards for the list's expiries")

    # -- all --
    def run(self):
        t0 = time.monotonic()
        self.start_server()
        try:
            steps = [("1", self.item1), ("2", self.item2), ("3", self.item3), ("4", self.item4),
                     ("5", self.item5), ("6", self.item6), ("10", self.item10), ("7", self.item7_8),
                     ("11", self.item11), ("12", self.item12)]
            for item, step in steps:
                if not self.wanted(item) and not (item == "7" and self.wanted("8")):
                    continue
                progress(f"item {item}")
                try:
                    step()
                except Exception as exc:
                    traceback.print_exc()
                    self.failures.append(f"item {item}: {type(exc).__name__}: {exc}")
                    r = self.row(item, "(did not run)")
                    r.status = f"failed: {type(exc).__name__}: {exc}"
        finally:
            self.server.stop()
        if self.wanted("9"):
            progress("item 9")
            try:
                self.item9()
            except Exception as exc:
                traceback.print_exc()
                self.failures.append(f"item 9: {type(exc).__name__}: {exc}")
        self.elapsed = time.monotonic() - t0


_shm_dirs = []


def shm_dir(tag):
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else harness.workdir()
    d = Path(__import__("tempfile").mkdtemp(prefix=f"pinfs-bench-{tag}-", dir=base))
    _shm_dirs.append(d)
    return d


def timed_cat(path):
    """Runs `cat path`, reading its output: time to the first byte, total time, bytes."""
    return timed_fetch(["cat", str(path)])


def timed_fetch(argv):
    """Runs argv, reading its output: time to the first byte, total time, bytes, status."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.read(1)
    ttfb = time.perf_counter() - t0
    n = len(first)
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        n += len(b)
    p.wait()
    p.stderr.close()
    p.stdout.close()
    return {"ttfb": ttfb, "total": time.perf_counter() - t0, "bytes": n, "rc": p.returncode}


def program_start(argv):
    """The median of 5 runs of argv (which reads an empty file), timed as timed_fetch times."""
    return sorted(timed_fetch(argv)["total"] for _ in range(5))[2]


def curl_timing(url):
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                        "%{time_starttransfer} %{time_total} %{size_download}", url],
                       capture_output=True, text=True, check=True)
    ttfb, total, size = r.stdout.split()
    return {"ttfb": float(ttfb), "total": float(total), "bytes": int(float(size))}


def progress(text):
    sys.stderr.write(f"bench: {text}\n")
    sys.stderr.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small account and few items (CI)")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, caches)")
    ap.add_argument("--only", help="comma-separated items to run, e.g. 2,3,9")
    args = ap.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    pinfs = Path(os.environ.get("PINFS_BIN", harness.ROOT / "build" / "pinfs"))
    if not os.access(pinfs, os.X_OK):
        sys.stderr.write(f"bench: {pinfs} is missing: build it with 'meson compile -C build'\n")
        return 1
    only = set(args.only.split(",")) if args.only else None
    harness.install_signal_handlers()
    bench = Bench(cfg, pinfs, only)
    status = 0
    try:
        bench.run()
    except BaseException as exc:
        traceback.print_exc()
        bench.failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        harness.cleanup()
        for d in _shm_dirs:
            shutil.rmtree(d, ignore_errors=True)
        left = harness.leftovers()
        if left:
            bench.failures.append("mounts left behind: " + ", ".join(left))
            for point in left:
                subprocess.run(["fusermount3", "-u", "-z", point], capture_output=True)
    c = cfg
    print(f"## pinfs benchmark ({c['name']}): {c['boards']} boards, {c['pins'] + c['big']:,} pins "
          f"({c['big']} on the first board), {c['sections']} sections, {c['latency_ms']} ms per request, "
          f"at most {floors.SLOTS} requests at a time in the floors\n")
    if getattr(bench, "size_note", None):
        print(f"Images: {bench.size_note}.\n")
    print(table(bench.rows))
    print()
    print(details(bench.rows))
    if hasattr(bench, "elapsed"):
        print(f"\nThe benchmark took {bench.elapsed:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps({"config": cfg, "rows": [r.to_json() for r in bench.rows],
                                               "failures": bench.failures}, indent=1))
    if bench.failures:
        print("\nDID NOT RUN CLEANLY:\n" + "\n".join("- " + f for f in bench.failures))
        print(f"Logs of the fake server and of every mount: {harness.workdir()}")
        status = 1
    harness.remove_workdir(keep=args.keep or bool(bench.failures))
    return status


if __name__ == "__main__":
    sys.exit(main())
