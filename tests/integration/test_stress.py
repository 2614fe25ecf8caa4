"""Stress: eight workers make random changes through one mount at the same time (mkdir, cp, mv,
rm, rmdir, rm -r, sidecar edits, reads and listings) for PINFS_STRESS_SECONDS (default 60).

Each worker owns its boards, so a reference model predicts every result, errors included
(ENOTEMPTY for rmdir of a non-empty folder, EPERM for writing into an image, ...). At the end
the mount, the fake server and the models must agree on every board, section and pin, bytes
and descriptions included. Worker N draws its operations from random.Random(SEED * 100 + N)
(PINFS_STRESS_SEED, default 1), and every operation is logged to stress-wN.log in the test's
temporary directory, so a failure can be replayed and read."""

import errno
import hashlib
import io
import json
import os
import random
import subprocess
import threading
import time

from PIL import Image

from naming import expected_tree

SECONDS = float(os.environ.get("PINFS_STRESS_SECONDS", "60"))
SEED = int(os.environ.get("PINFS_STRESS_SEED", "1"))
WORKERS = 8
ACCOUNT = "boards=3,pins=40,sections=2"


def jpeg(rng):
    buf = io.BytesIO()
    Image.new("RGB", (16 + rng.randrange(16), 12 + rng.randrange(12)),
              tuple(rng.randrange(256) for _ in range(3))).save(buf, "JPEG")
    return buf.getvalue()


class Unexpected(Exception):
    pass


class Worker:
    """One worker's boards as it believes them to be, and the operations that change them.

    boards: {board name: {"sections": {section name: {title: pin}}, "pins": {title: pin}}},
    pin: {"data": bytes, "description": str}. Titles and folder names are unique per worker, so
    every file name is the plain title and every result is known in advance."""

    def __init__(self, n, mount):
        self.n = n
        self.m = mount
        self.rng = random.Random(SEED * 100 + n)
        self.boards = {}
        self.counter = 0
        self.log = []

    # ---- helpers ----
    def new_name(self, kind):
        self.counter += 1
        return f"w{self.n} {kind}{self.counter}"

    def folders(self):
        """Every folder the worker owns: (board, section or None)."""
        return [(b, s) for b in self.boards for s in [None, *self.boards[b]["sections"]]]

    def pins_of(self, board, section):
        b = self.boards[board]
        return b["pins"] if section is None else b["sections"][section]

    def path(self, board, section=None, name=None):
        parts = ["boards", board] + ([section] if section else []) + ([name] if name else [])
        return self.m.path(*parts)

    def all_pins(self):
        return [(b, s, t) for b, s in self.folders() for t in self.pins_of(b, s)]

    def expect(self, what, want_errno, fn, *args):
        """Runs fn; its errno (0 on success) must be the model's."""
        try:
            out = fn(*args)
            got = 0
        except OSError as e:
            out, got = None, e.errno
        self.log.append(f"{time.monotonic():.3f} {what} -> {errno.errorcode.get(got, got)}")
        if got != want_errno:
            raise Unexpected(f"{what}: got {errno.errorcode.get(got, got)}, the model says "
                             f"{errno.errorcode.get(want_errno, want_errno)}")
        return out

    def check(self, what, ok):
        if not ok:
            raise Unexpected(what)

    # ---- operations: each checks its result against the model, then updates the model ----
    def mkdir_board(self):
        if len(self.boards) >= 3:
            board = self.rng.choice(list(self.boards))
            self.expect(f"mkdir existing {board!r}", errno.EEXIST, os.mkdir, self.path(board))
            return
        board = self.new_name("b")
        self.expect(f"mkdir {board!r}", 0, os.mkdir, self.path(board))
        self.boards[board] = {"sections": {}, "pins": {}}

    def mkdir_section(self):
        if not self.boards:
            return self.mkdir_board()
        board = self.rng.choice(list(self.boards))
        section = self.new_name("s")
        self.expect(f"mkdir {board!r}/{section!r}", 0, os.mkdir, self.path(board, section))
        self.boards[board]["sections"][section] = {}

    def cp(self):
        if not self.boards:
            return self.mkdir_board()
        board, section = self.rng.choice(self.folders())
        title = self.new_name("p")
        data = jpeg(self.rng)

        def write():
            with open(self.path(board, section, title + ".jpg"), "wb") as f:
                f.write(data)
        self.expect(f"cp {len(data)} bytes to {board!r}/{section!r}/{title!r}.jpg", 0, write)
        self.pins_of(board, section)[title] = {"data": data, "description": ""}

    def read(self):
        pins = self.all_pins()
        if not pins:
            return self.cp()
        board, section, title = self.rng.choice(pins)
        pin = self.pins_of(board, section)[title]
        got = self.expect(f"read {board!r}/{section!r}/{title!r}.jpg", 0,
                          self.path(board, section, title + ".jpg").read_bytes)
        self.check(f"bytes of {title!r}", got == pin["data"])
        st = self.expect(f"stat {title!r}.jpg", 0, os.stat, self.path(board, section, title + ".jpg"))
        self.check(f"size of {title!r}", st.st_size == len(pin["data"]))
        doc = json.loads(self.expect(f"read {title!r}.json", 0,
                                     self.path(board, section, title + ".json").read_text))
        self.check(f"sidecar of {title!r}: {doc}", doc["title"] == title and
                   (doc.get("description") or "") == pin["description"])

    def listing(self, board, section):
        want = set()
        if section is None:
            want |= {".board.json", *self.boards[board]["sections"]}
        for title in self.pins_of(board, section):
            want |= {title + ".jpg", title + ".json"}
        return want

    def ls(self):
        if not self.boards:
            return self.mkdir_board()
        board, section = self.rng.choice(self.folders())
        got = self.expect(f"ls {board!r}/{section!r}", 0, os.listdir, self.path(board, section))
        self.check(f"listing of {board!r}/{section!r}: {sorted(got)} != "
                   f"{sorted(self.listing(board, section))}", set(got) == self.listing(board, section))

    def retitle(self):
        pins = self.all_pins()
        if not pins:
            return self.cp()
        board, section, title = self.rng.choice(pins)
        new = self.new_name("p")
        self.expect(f"mv {title!r}.jpg {new!r}.jpg in {board!r}/{section!r}", 0, os.rename,
                    self.path(board, section, title + ".jpg"), self.path(board, section, new + ".jpg"))
        folder = self.pins_of(board, section)
        folder[new] = folder.pop(title)

    def move(self):
        pins = self.all_pins()
        if not pins or len(self.folders()) < 2:
            return self.mkdir_section()
        board, section, title = self.rng.choice(pins)
        to_board, to_section = self.rng.choice([f for f in self.folders() if f != (board, section)])
        name = title + self.rng.choice([".jpg", ".json"])   # the sidecar moves the pin as well
        self.expect(f"mv {board!r}/{section!r}/{name!r} {to_board!r}/{to_section!r}/", 0, os.rename,
                    self.path(board, section, name), self.path(to_board, to_section, name))
        self.pins_of(to_board, to_section)[title] = self.pins_of(board, section).pop(title)

    def edit(self):
        pins = self.all_pins()
        if not pins:
            return self.cp()
        board, section, title = self.rng.choice(pins)
        path = self.path(board, section, title + ".json")
        doc = json.loads(self.expect(f"read {title!r}.json", 0, path.read_text))
        text = " ".join(self.rng.choice(["lemon", "tart", "blue", "sea", "quiet", "road"])
                        for _ in range(self.rng.randrange(1, 6)))
        doc["description"] = text
        self.expect(f"edit {title!r}.json description={text!r}", 0, path.write_text, json.dumps(doc))
        self.pins_of(board, section)[title]["description"] = text

    def rm(self):
        pins = self.all_pins()
        if not pins:
            return self.cp()
        board, section, title = self.rng.choice(pins)
        self.expect(f"rm {board!r}/{section!r}/{title!r}.jpg", 0, os.unlink,
                    self.path(board, section, title + ".jpg"))
        del self.pins_of(board, section)[title]

    def refused(self):
        """Operations the model says must fail, and with which errno."""
        pins = self.all_pins()
        folders = self.folders()
        choice = self.rng.randrange(4)
        if choice == 0 and pins:
            board, section, title = self.rng.choice(pins)
            self.expect(f"open {title!r}.jpg for writing", errno.EPERM, open,
                        self.path(board, section, title + ".jpg"), "r+b")
        elif choice == 1 and pins:
            board, section, title = self.rng.choice(pins)
            self.expect(f"rm {title!r}.json alone", errno.EPERM, os.unlink,
                        self.path(board, section, title + ".json"))
        elif choice == 2 and len(pins) >= 2:
            (b1, s1, t1), (b2, s2, t2) = self.rng.sample(pins, 2)
            if (b1, s1) != (b2, s2):
                return
            self.expect(f"mv {t1!r}.jpg onto {t2!r}.jpg", errno.EPERM, os.rename,
                        self.path(b1, s1, t1 + ".jpg"), self.path(b2, s2, t2 + ".jpg"))
        elif choice == 3 and folders:
            full = [(b, s) for b, s in folders if len(self.listing(b, s) - {".board.json"})]
            if full:
                board, section = self.rng.choice(full)
                self.expect(f"rmdir non-empty {board!r}/{section!r}", errno.ENOTEMPTY, os.rmdir,
                            self.path(board, section))

    def rmdir(self):
        empty = [(b, s) for b, s in self.folders() if not self.listing(b, s) - {".board.json"}]
        if not empty:
            return self.refused()
        board, section = self.rng.choice(empty)
        self.expect(f"rmdir {board!r}/{section!r}", 0, os.rmdir, self.path(board, section))
        if section is None:
            del self.boards[board]
        else:
            del self.boards[board]["sections"][section]

    def rename_folder(self):
        folders = self.folders()
        if not folders:
            return self.mkdir_board()
        board, section = self.rng.choice(folders)
        kind = "b" if section is None else "s"
        new = self.new_name(kind)
        if section is None:
            self.expect(f"mv {board!r} {new!r}", 0, os.rename, self.path(board), self.path(new))
            self.boards[new] = self.boards.pop(board)
        else:
            self.expect(f"mv {board!r}/{section!r} {new!r}", 0, os.rename,
                        self.path(board, section), self.path(board, new))
            secs = self.boards[board]["sections"]
            secs[new] = secs.pop(section)

    def rm_r(self):
        if len(self.boards) < 2:
            return self.cp()
        board = self.rng.choice(list(self.boards))

        def rm_r():
            r = subprocess.run(["rm", "-r", str(self.path(board))], capture_output=True, text=True)
            if r.returncode or r.stderr:
                raise OSError(errno.EIO, r.stderr.strip())
        self.expect(f"rm -r {board!r}", 0, rm_r)
        del self.boards[board]

    OPS = [(mkdir_board, 2), (mkdir_section, 4), (cp, 20), (read, 10), (ls, 10), (retitle, 6),
           (move, 6), (edit, 8), (rm, 6), (refused, 6), (rmdir, 3), (rename_folder, 3),
           (rm_r, 1)]

    def run(self, deadline):
        ops, weights = zip(*self.OPS)
        while time.monotonic() < deadline:
            op = self.rng.choices(ops, weights)[0]
            op(self)


def walk(root):
    found = set()
    for top, dirs, files in os.walk(root / "boards"):
        rel = os.path.relpath(top, root)
        found.add(rel)
        found |= {os.path.join(rel, f) for f in files}
    return found


def test_stress_against_a_reference_model(fake, mount, tmp_path):
    server = fake(ACCOUNT)
    m = mount(server)
    m.expect_log(r"cannot replace a pin's image|remove the pin's image to delete the pin")
    seeded = {b: sorted(os.listdir(m.path("boards", b))) for b in os.listdir(m.path("boards"))}
    workers = [Worker(n, m) for n in range(WORKERS)]
    failures = []
    deadline = time.monotonic() + SECONDS

    def run(w):
        try:
            w.run(deadline)
        except Exception as e:   # the model disagreed, or the test itself broke
            failures.append((w, e))

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    # Meanwhile, the boards nobody changes must read the same.
    while any(t.is_alive() for t in threads):
        for b, names in seeded.items():
            assert sorted(os.listdir(m.path("boards", b))) == names, b
        time.sleep(0.5)
    for t in threads:
        t.join()
    for w in workers:
        (tmp_path / f"stress-w{w.n}.log").write_text("\n".join(w.log) + "\n")
    assert not failures, "\n\n".join(
        f"worker {w.n} (PINFS_STRESS_SEED={SEED}, log {tmp_path}/stress-w{w.n}.log): {e}\n"
        + "\n".join(w.log[-15:]) for w, e in failures)
    done = sum(len(w.log) for w in workers)
    assert done > WORKERS * 10, f"only {done} operations ran"

    state = server.state()
    # The mount shows exactly what the server holds...
    assert walk(m.dir) == set(expected_tree(state))
    # ... and the server holds exactly what the models say.
    by_name = {b["name"]: b for b in state["boards"]}
    sections = {s["id"]: s["name"] for ss in state["sections"].values() for s in ss}
    for w in workers:
        mine = {n for n in by_name if n.startswith(f"w{w.n} ")}
        assert mine == set(w.boards), (w.n, sorted(mine), sorted(w.boards))
        for name, b in w.boards.items():
            board_id = by_name[name]["id"]
            assert sorted(s["name"] for s in state["sections"].get(board_id, [])) == sorted(b["sections"])
            pins = [p for p in state["pins"] if p["board_id"] == board_id]
            want = {(None, t): pin for t, pin in b["pins"].items()}
            want.update({(s, t): pin for s, ps in b["sections"].items() for t, pin in ps.items()})
            got = {(sections.get(p["board_section_id"]), p["title"]): p for p in pins}
            assert set(got) == set(want), (w.n, name)
            for key, pin in want.items():
                p = got[key]
                assert (p.get("description") or "") == pin["description"], key
                data = server.fetch(p["media"]["images"]["originals"]["url"])
                assert hashlib.sha256(data).digest() == hashlib.sha256(pin["data"]).digest(), key
                folder = m.path("boards", name, *([key[0]] if key[0] else []))
                assert (folder / (key[1] + ".jpg")).read_bytes() == pin["data"], key
    # The seeded boards nobody touched are as they were.
    for b, names in seeded.items():
        assert sorted(os.listdir(m.path("boards", b))) == names
