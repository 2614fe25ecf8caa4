"""Boards, sections and deletes when the server changes behind the mount or loses answers.

- rmdir and rm -r never delete a pin or a section the mount did not show: one fresh look before
  the DELETE, and ENOTEMPTY when it finds one;
- a DELETE whose answer was lost is done, and says so; one of something deleted elsewhere is
  ENOENT, and the entry goes;
- a mkdir whose answer was lost shows the board or section made, or fails with EIO when none
  was; a name Pinterest holds already, in any case, is EEXIST;
- the fault matrix: every write route through every way an answer goes wrong, with what the
  program was told checked against what the server then holds and, after a SIGHUP, against
  what the mount lists.
"""

import errno
import io
import os
import re
import shutil
import signal
import subprocess
import time

import pytest
from PIL import Image

from conftest import BAD_LOG, FakeServer, Mount
from naming import expected_tree, walk

SEED = "boards=2,pins=8,sections=1"
TIMEOUT = 2  # -o timeout= of the fault matrix's mounts
STALL_MS = 3500  # longer than TIMEOUT: the answer is given up for lost


def jpeg(color=(200, 30, 30), size=(64, 48)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def board(server, name):
    return next((b for b in server.state()["boards"] if b["name"] == name), None)


def boards_named(server, name):
    return [b for b in server.state()["boards"] if b["name"].casefold() == name.casefold()]


def sections_named(server, board_id, name):
    return [s for s in server.state()["sections"].get(board_id, []) if s["name"] == name]


def pin(server, pin_id):
    return next((p for p in server.state()["pins"] if p["id"] == pin_id), None)


def pins_titled(server, title):
    return [p for p in server.state()["pins"] if p.get("title") == title]


def requests(server, route=None):
    reqs = server.admin("GET", "requests")["requests"]
    return [r for r in reqs if route is None or r["route"] == route]


def writes(server):
    return [r for r in requests(server) if r["method"] in ("POST", "PATCH", "DELETE")]


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, e.value


def hup(m):
    """SIGHUP: the daemon forgets every listing (its own thread does it, soon after)."""
    m.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)


def assert_lists_server_state(server, m):
    want = {path: ("dir" if kind == "dir" else "file")
            for path, (kind, _) in expected_tree(server.state()).items()}
    assert walk(m.dir) == want


@pytest.fixture
def acct(fake, mount):
    server = fake(SEED)
    return server, mount(server)


# ---- 1. rmdir and rm -r delete nothing the mount did not show ----

def test_rmdir_of_a_board_holding_a_pin_saved_elsewhere_is_enotempty(acct):
    server, m = acct
    os.mkdir(m.path("boards", "Empty"))
    assert os.listdir(m.path("boards", "Empty")) == [".board.json"]
    b = board(server, "Empty")
    p = server.admin("POST", "pins", {"board_id": b["id"], "title": "Saved elsewhere"})
    server.reset_counts()
    m.expect_log(r"rmdir /boards/Empty: it holds a pin the mount had not shown")
    expect_errno(errno.ENOTEMPTY, os.rmdir, m.path("boards", "Empty"))
    assert board(server, "Empty") is not None and pin(server, p["id"]) is not None
    # One look, at one pin: never the whole board, never a DELETE.
    looks = requests(server)
    assert [(r["route"], r["query"]) for r in looks] == [
        ("GET /v5/boards/{board_id}/pins", "page_size=1")]
    # The tree learnt of it: the pin shows, and the board is now rm -r's to empty.
    assert "Saved elsewhere.json" in os.listdir(m.path("boards", "Empty"))


def test_rmdir_of_a_board_holding_a_section_made_elsewhere_is_enotempty(acct):
    server, m = acct
    os.mkdir(m.path("boards", "Empty"))
    os.listdir(m.path("boards", "Empty"))
    b = board(server, "Empty")
    server.admin("POST", "sections", {"board_id": b["id"], "name": "Made elsewhere"})
    server.reset_counts()
    m.expect_log(r"rmdir /boards/Empty: it holds a section the mount had not shown")
    expect_errno(errno.ENOTEMPTY, os.rmdir, m.path("boards", "Empty"))
    assert board(server, "Empty") is not None
    assert sections_named(server, b["id"], "Made elsewhere")
    assert [(r["route"], r["query"]) for r in requests(server)] == [
        ("GET /v5/boards/{board_id}/pins", "page_size=1"),
        ("GET /v5/boards/{board_id}/sections", "page_size=1")]
    assert os.path.isdir(m.path("boards", "Empty", "Made elsewhere"))


def test_rmdir_of_a_section_holding_a_pin_saved_elsewhere_is_enotempty(acct):
    server, m = acct
    os.mkdir(m.path("boards", "Empty"))
    os.mkdir(m.path("boards", "Empty", "Inner"))
    assert os.listdir(m.path("boards", "Empty", "Inner")) == []
    b = board(server, "Empty")
    s = sections_named(server, b["id"], "Inner")[0]
    p = server.admin("POST", "pins", {"board_id": b["id"], "section_id": s["id"],
                                      "title": "Saved elsewhere"})
    server.reset_counts()
    m.expect_log(r"rmdir /boards/Empty/Inner: it holds a pin the mount had not shown")
    expect_errno(errno.ENOTEMPTY, os.rmdir, m.path("boards", "Empty", "Inner"))
    assert pin(server, p["id"]) is not None and sections_named(server, b["id"], "Inner")
    assert [(r["route"], r["query"]) for r in requests(server)] == [
        ("GET /v5/boards/{board_id}/sections/{section_id}/pins", "page_size=1")]
    assert "Saved elsewhere.json" in os.listdir(m.path("boards", "Empty", "Inner"))


def test_rm_r_deletes_what_it_showed_and_keeps_a_pin_saved_meanwhile(acct, tmp_path):
    server, m = acct
    os.mkdir(m.path("boards", "Trip"))
    os.mkdir(m.path("boards", "Trip", "Day one"))
    src = tmp_path / "a.jpg"
    src.write_bytes(jpeg())
    shutil.copyfile(src, m.path("boards", "Trip", "beach.jpg"))
    shutil.copyfile(src, m.path("boards", "Trip", "Day one", "hill.jpg"))
    b = board(server, "Trip")
    # rm -r lists the board, deletes what it lists; another client saves a pin meanwhile.
    shown = set(os.listdir(m.path("boards", "Trip")))
    late = server.admin("POST", "pins", {"board_id": b["id"], "title": "Saved meanwhile"})
    m.expect_log(r"rmdir /boards/Trip: it holds a pin the mount had not shown")
    r = subprocess.run(["rm", "-r", str(m.path("boards", "Trip"))], capture_output=True,
                       text=True)
    assert r.returncode != 0 and "Directory not empty" in r.stderr
    assert "Saved meanwhile.json" not in shown
    assert board(server, "Trip") is not None and pin(server, late["id"]) is not None
    assert not pins_titled(server, "beach") and not pins_titled(server, "hill")
    assert not server.state()["sections"][b["id"]]
    assert sorted(os.listdir(m.path("boards", "Trip"))) == [
        ".board.json", "Saved meanwhile.jpg", "Saved meanwhile.json"]


def test_rmdir_of_an_empty_board_looks_once_then_deletes(acct):
    server, m = acct
    os.mkdir(m.path("boards", "Empty"))
    os.listdir(m.path("boards", "Empty"))
    server.reset_counts()
    os.rmdir(m.path("boards", "Empty"))
    assert board(server, "Empty") is None
    assert [(r["route"], r["query"]) for r in requests(server)] == [
        ("GET /v5/boards/{board_id}/pins", "page_size=1"),
        ("GET /v5/boards/{board_id}/sections", "page_size=1"),
        ("DELETE /v5/boards/{board_id}", "")]
    assert "Empty" not in os.listdir(m.path("boards"))


# ---- 2. a DELETE whose answer was lost; one of something deleted elsewhere ----

def make_target(server, m, kind, tmp_path):
    """A pin, an empty board or an empty section the mount shows: (its path, its DELETE
    route, a function telling whether the server still holds it)."""
    os.mkdir(m.path("boards", "Target"))
    b = board(server, "Target")
    if kind == "board":
        return (m.path("boards", "Target"), "DELETE /v5/boards/{board_id}",
                lambda: board(server, "Target") is not None)
    if kind == "section":
        os.mkdir(m.path("boards", "Target", "Part"))
        return (m.path("boards", "Target", "Part"),
                "DELETE /v5/boards/{board_id}/sections/{section_id}",
                lambda: bool(sections_named(server, b["id"], "Part")))
    src = tmp_path / "a.jpg"
    src.write_bytes(jpeg())
    shutil.copyfile(src, m.path("boards", "Target", "shot.jpg"))
    return (m.path("boards", "Target", "shot.jpg"), "DELETE /v5/pins/{pin_id}",
            lambda: bool(pins_titled(server, "shot")))


def remove(path):
    (os.rmdir if path.suffix != ".jpg" else os.unlink)(path)


@pytest.mark.parametrize("kind", ["pin", "board", "section"])
def test_a_delete_whose_answer_was_lost_is_done(acct, tmp_path, kind):
    server, m = acct
    path, route, held = make_target(server, m, kind, tmp_path)
    pins_before = len(server.state()["pins"])
    server.reset_counts()
    server.fault(route=route, action="close_after")
    remove(path)  # no error: it is deleted
    assert not held()
    deletes = requests(server, route)
    assert [r["status"] for r in deletes] == [204, 404]  # done, its answer lost; then 404
    assert len(server.state()["pins"]) == pins_before - (kind == "pin")
    assert path.name not in os.listdir(path.parent)
    if kind == "pin":
        assert "shot.json" not in os.listdir(path.parent)
    assert_lists_server_state(server, m)


@pytest.mark.parametrize("action", ["close_after", "close"])
@pytest.mark.parametrize("kind", ["pin", "board", "section"])
def test_a_delete_whose_every_answer_was_lost_asks_whether_it_was_done(fake, mount, tmp_path,
                                                                        kind, action):
    """Every try's answer lost, until the retry time (-o timeout) is up: one GET settles it.
    close_after: the first try did it (rm succeeds); close: none did (EIO, nothing gone)."""
    server = fake(SEED)
    m = mount(server, opts=(f"timeout={TIMEOUT}",))
    path, route, held = make_target(server, m, kind, tmp_path)
    server.fault(route=route, action=action, count=50)
    m.expect_log(r"DELETE /\S+: ")
    if action == "close_after":
        remove(path)
        assert not held()
        assert path.name not in os.listdir(path.parent)
    else:
        expect_errno(errno.EIO, remove, path)
        assert held()
        assert path.name in os.listdir(path.parent)
    server.admin("DELETE", "faults")
    assert len(requests(server, route)) >= 2


@pytest.mark.parametrize("kind", ["pin", "board", "section"])
def test_a_delete_of_something_deleted_elsewhere_is_enoent(acct, tmp_path, kind):
    server, m = acct
    path, route, held = make_target(server, m, kind, tmp_path)
    b = board(server, "Target")
    if kind == "pin":
        server.v5("DELETE", "/pins/" + pins_titled(server, "shot")[0]["id"])
    elif kind == "board":
        server.v5("DELETE", "/boards/" + b["id"])
    else:
        server.v5("DELETE", f"/boards/{b['id']}/sections/"
                  + sections_named(server, b["id"], "Part")[0]["id"])
    m.expect_log(r"(rm|rmdir) /boards/Target\S*: .*deleted elsewhere already")
    # (a board not listed yet learns it from its listing, which says so too)
    m.expect_log(r"cannot list board \d+: No such file or directory")
    expect_errno(errno.ENOENT, remove, path)
    # Gone from the listing at once, not after the TTL.
    assert path.name not in os.listdir(path.parent)
    assert not held()


# ---- 3. a mkdir whose answer was lost ----

@pytest.mark.parametrize("action", ["close_after", "truncate", "stall"])
def test_mkdir_whose_answer_was_lost_shows_the_board_made(fake, mount, action):
    server = fake(SEED)
    m = mount(server, opts=(f"timeout={TIMEOUT}",))
    spec = {"close_after": {}, "truncate": {"bytes": 5}, "stall": {"bytes": 0, "ms": STALL_MS}}
    server.fault(route="POST /v5/boards", action=action, **spec[action])
    m.expect_log(r"POST /boards: ")
    os.mkdir(m.path("boards", "Lost answer"))
    assert len(boards_named(server, "Lost answer")) == 1
    assert os.path.isdir(m.path("boards", "Lost answer"))
    assert [r["method"] for r in writes(server)] == ["POST"]


def test_mkdir_never_performed_is_eio_and_a_second_one_works(acct):
    server, m = acct
    server.fault(route="POST /v5/boards", action="close")
    m.expect_log(r"POST /boards: ")
    expect_errno(errno.EIO, os.mkdir, m.path("boards", "Not made"))
    assert not boards_named(server, "Not made")
    assert "Not made" not in os.listdir(m.path("boards"))
    os.mkdir(m.path("boards", "Not made"))
    assert len(boards_named(server, "Not made")) == 1


def test_a_board_made_but_not_shown_is_eexist_at_the_next_mkdir(acct):
    server, m = acct
    # The answer is lost, and so is the look for the board: EIO, the board made but unseen.
    server.fault(route="POST /v5/boards", action="close_after")
    server.fault(route="GET /v5/boards", action="status", status=400)
    m.expect_log(r"POST /boards: |GET /boards\?page_size=250: HTTP 400")
    expect_errno(errno.EIO, os.mkdir, m.path("boards", "Half made"))
    assert len(boards_named(server, "Half made")) == 1
    m.expect_log(r"POST /boards: HTTP 400")
    expect_errno(errno.EEXIST, os.mkdir, m.path("boards", "Half made"))
    assert len(boards_named(server, "Half made")) == 1
    assert os.path.isdir(m.path("boards", "Half made"))


def test_mkdir_of_a_section_whose_answer_was_lost(acct):
    server, m = acct
    top = sorted(os.listdir(m.path("boards")))[0]
    b = board(server, top.replace("\uff0f", "/"))
    route = "POST /v5/boards/{board_id}/sections"
    server.fault(route=route, action="close_after")
    m.expect_log(r"POST /boards/\d+/sections: ")
    os.mkdir(m.path("boards", top, "Lost answer"))
    assert len(sections_named(server, b["id"], "Lost answer")) == 1
    # Lost twice: the answer, then the look for the section: EIO, then EEXIST, and it shows.
    server.fault(route=route, action="close_after")
    server.fault(route="GET /v5/boards/{board_id}/sections", action="status", status=400)
    m.expect_log(r"GET /boards/\d+/sections\?page_size=250: HTTP 400")
    expect_errno(errno.EIO, os.mkdir, m.path("boards", top, "Half made"))
    assert len(sections_named(server, b["id"], "Half made")) == 1
    assert "Half made" not in os.listdir(m.path("boards", top))
    m.expect_log(r"POST /boards/\d+/sections: HTTP 409")
    expect_errno(errno.EEXIST, os.mkdir, m.path("boards", top, "Half made"))
    assert len(sections_named(server, b["id"], "Half made")) == 1
    assert os.path.isdir(m.path("boards", top, "Half made"))


def test_mkdir_whose_post_failed_with_500_is_eio_and_made_nothing(acct):
    server, m = acct
    top = sorted(os.listdir(m.path("boards")))[0]
    b = board(server, top.replace("\uff0f", "/"))
    server.fault(route="POST /v5/boards", action="status", status=500)
    server.fault(route="POST /v5/boards/{board_id}/sections", action="status", status=500)
    m.expect_log(r"POST /boards\S*: HTTP 500")
    expect_errno(errno.EIO, os.mkdir, m.path("boards", "Five hundred"))
    expect_errno(errno.EIO, os.mkdir, m.path("boards", top, "Five hundred"))
    assert not boards_named(server, "Five hundred")
    assert not sections_named(server, b["id"], "Five hundred")


# ---- 4. board names are unique ignoring case ----

def test_mkdir_of_a_board_name_in_another_case_is_eexist_without_a_request(acct):
    server, m = acct
    existing = board(server, "Travel")
    assert existing is not None
    server.reset_counts()
    m.expect_log(r"mkdir /boards/tRAVEL: a board of that name in another case exists")
    expect_errno(errno.EEXIST, os.mkdir, m.path("boards", "tRAVEL"))
    assert server.counts() == {}
    assert len(boards_named(server, "travel")) == 1


def test_mkdir_of_a_board_made_elsewhere_in_another_case_is_eexist(acct):
    server, m = acct
    os.listdir(m.path("boards"))
    server.admin("POST", "boards", {"name": "Garden Ideas 2"})  # not shown yet
    m.expect_log(r"POST /boards: HTTP 400")
    expect_errno(errno.EEXIST, os.mkdir, m.path("boards", "garden ideas 2"))
    assert len(boards_named(server, "Garden Ideas 2")) == 1
    assert "Garden Ideas 2" in os.listdir(m.path("boards"))


def test_a_bad_board_name_stays_einval(acct):
    server, m = acct
    m.expect_log(r"POST /boards: HTTP 400")
    expect_errno(errno.EINVAL, os.mkdir, m.path("boards", "   "))
    assert not boards_named(server, "   ")


# ---- 5. a local file (a picture still being written) is a name like a pin's ----

@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_a_local_file_is_not_replaced_made_over_or_forgotten_by_rmdir(acct, shell):
    """A picture cut short (a shell's `>` of half a JPEG) stays a local file; a pin moved onto
    it, a folder made over it, and rmdir of the section holding it are refused, and nothing is
    sent or lost."""
    server, m = acct
    half = jpeg()[:300]
    b = server.state()["boards"][0]
    folder = m.path("boards", b["name"])
    os.mkdir(folder / "Drafts")
    for dst in (folder / "draft.jpg", folder / "Drafts" / "only.jpg"):
        subprocess.run([shell, "-c", 'cat > "$0"', str(dst)], input=half, check=True)
    assert (folder / "draft.jpg").read_bytes() == half
    victim = next(n for n in sorted(os.listdir(folder)) if n.endswith(".jpg") and n != "draft.jpg")
    vid = os.getxattr(folder / victim, "user.pinterest.id").decode()
    title = pin(server, vid)["title"]
    server.reset_counts()

    # mv of a pin onto the local file: refused (it would delete the local bytes).
    r = subprocess.run(["mv", str(folder / victim), str(folder / "draft.jpg")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr
    # mv -n: the name is taken, so nothing moves.
    subprocess.run(["mv", "-n", str(folder / victim), str(folder / "draft.jpg")],
                   capture_output=True)
    # mkdir over it: EEXIST.
    expect_errno(errno.EEXIST, os.mkdir, folder / "draft.jpg")
    # rmdir of a section whose one file is local: ENOTEMPTY, the section stays.
    expect_errno(errno.ENOTEMPTY, os.rmdir, folder / "Drafts")

    assert writes(server) == []
    assert pin(server, vid)["title"] == title and victim in os.listdir(folder)
    assert (folder / "draft.jpg").read_bytes() == half
    assert (folder / "Drafts" / "only.jpg").read_bytes() == half
    assert sections_named(server, b["id"], "Drafts")
    m.expect_log(r"closed before it was a whole picture or video; it stays a local file")
    m.expect_log(r"draft\.jpg: a local file has that name")


# ---- 6. the fault matrix ----

FAULTS = {
    "close": {"action": "close"},
    "close_after": {"action": "close_after"},
    "truncate": {"action": "truncate", "bytes": 5},
    "stall": {"action": "stall", "bytes": 0, "ms": STALL_MS},
    "500": {"action": "status", "status": 500},
    "503": {"action": "status", "status": 503},
}


class Case:
    """One write through the mount: prepare() makes what it acts on (straight in the server's
    store), run() is the user's command, done() whether the server holds the change."""

    def __init__(self, env, fault):
        self.env, self.server, self.m = env, env.server, env.m
        self.tag = fault
        self.top = env.top

    def path(self, *parts):
        return str(self.m.path("boards", *parts))

    def image(self, stem):
        """The image file of the pin named stem at the top of the test board (a seeded
        picture is a JPEG or a PNG)."""
        folder = self.m.path("boards", self.top["name"])
        return next(str(folder / n) for n in os.listdir(folder)
                    if n.startswith(stem + ".") and not n.endswith(".json"))


class PinCreate(Case):
    def prepare(self):
        self.title = "up " + self.tag
        self.src = self.env.tmp / (self.tag + ".jpg")
        self.src.write_bytes(jpeg(color=(len(self.tag) * 20, 90, 40)))

    def command(self):
        return ["cp", str(self.src), self.path(self.top["name"], self.title + ".jpg")]

    def done(self):
        made = pins_titled(self.server, self.title)
        assert len(made) <= 1, "two pins made"
        return bool(made)


class PinRetitle(Case):
    def prepare(self):
        self.pin = self.server.admin("POST", "pins", {"board_id": self.top["id"],
                                                      "title": "old " + self.tag})

    def command(self):
        old = self.image("old " + self.tag)
        return ["mv", old, self.path(self.top["name"], "new " + self.tag + old[-4:])]

    def done(self):
        return pin(self.server, self.pin["id"])["title"] == "new " + self.tag


class PinDelete(Case):
    def prepare(self):
        self.pin = self.server.admin("POST", "pins", {"board_id": self.top["id"],
                                                      "title": "del " + self.tag})

    def command(self):
        return ["rm", self.image("del " + self.tag)]

    def done(self):
        return pin(self.server, self.pin["id"]) is None


class BoardCreate(Case):
    def prepare(self):
        self.name = "made " + self.tag

    def command(self):
        return ["mkdir", self.path(self.name)]

    def done(self):
        made = boards_named(self.server, self.name)
        assert len(made) <= 1, "two boards made"
        return bool(made)


class BoardRename(Case):
    def prepare(self):
        self.board = self.server.admin("POST", "boards", {"name": "old " + self.tag})

    def command(self):
        return ["mv", self.path("old " + self.tag), self.path("new " + self.tag)]

    def done(self):
        return board(self.server, "new " + self.tag) is not None


class BoardDelete(Case):
    def prepare(self):
        self.board = self.server.admin("POST", "boards", {"name": "gone " + self.tag})

    def command(self):
        return ["rmdir", self.path("gone " + self.tag)]

    def done(self):
        return board(self.server, "gone " + self.tag) is None


class SectionCreate(Case):
    def prepare(self):
        self.name = "made " + self.tag

    def command(self):
        return ["mkdir", self.path(self.top["name"], self.name)]

    def done(self):
        made = sections_named(self.server, self.top["id"], self.name)
        assert len(made) <= 1, "two sections made"
        return bool(made)


class SectionRename(Case):
    def prepare(self):
        self.server.admin("POST", "sections", {"board_id": self.top["id"],
                                               "name": "old " + self.tag})

    def command(self):
        return ["mv", self.path(self.top["name"], "old " + self.tag),
                self.path(self.top["name"], "new " + self.tag)]

    def done(self):
        return bool(sections_named(self.server, self.top["id"], "new " + self.tag))


class SectionDelete(Case):
    def prepare(self):
        self.server.admin("POST", "sections", {"board_id": self.top["id"],
                                               "name": "gone " + self.tag})

    def command(self):
        return ["rmdir", self.path(self.top["name"], "gone " + self.tag)]

    def done(self):
        return not sections_named(self.server, self.top["id"], "gone " + self.tag)


ROUTES = {
    "POST /v5/pins": PinCreate,
    "PATCH /v5/pins/{pin_id}": PinRetitle,
    "DELETE /v5/pins/{pin_id}": PinDelete,
    "POST /v5/boards": BoardCreate,
    "PATCH /v5/boards/{board_id}": BoardRename,
    "DELETE /v5/boards/{board_id}": BoardDelete,
    "POST /v5/boards/{board_id}/sections": SectionCreate,
    "PATCH /v5/boards/{board_id}/sections/{section_id}": SectionRename,
    "DELETE /v5/boards/{board_id}/sections/{section_id}": SectionDelete,
}

# Log lines a case may leave: the failed request's own warning, an upload's refusal.
MATRIX_LOG = [r"(POST|PATCH|DELETE) /\S+: ", r": not uploaded \(", r"GET /pins/\S+: "]


class Env:
    """One server and one mount (-o timeout=2) shared by one route's cases."""

    def __init__(self, tmp):
        self.server = FakeServer(SEED)
        self.m = Mount(self.server, (f"timeout={TIMEOUT}",))
        self.tmp = tmp
        self.top = self.server.admin("POST", "boards", {"name": "Matrix"})

    def log_since(self, offset):
        return self.m.log()[offset:]

    def close(self):
        self.m.unmount()
        crashed = self.m.crashed()
        violations = self.server.violations()["violations"]
        self.server.stop()
        assert not crashed, f"pinfs died of {crashed}: " + self.m.log()[-2000:]
        # What a sanitizer says at exit (leaks) comes after the last case's look at the log.
        bad = [line for line in self.m.log().splitlines()
               if BAD_LOG.search(line) and not any(re.search(p, line) for p in MATRIX_LOG)]
        assert not bad, "pinfs logged:\n" + "\n".join(bad)
        assert not violations, f"traffic the OpenAPI description does not allow: {violations[:3]}"


@pytest.fixture(scope="module")
def envs(tmp_path_factory):
    """One Env per route, made at its first case; the one before is closed then (one daemon
    at a time on 2 cores)."""
    live = {}

    def get(route):
        if route not in live:
            for old in list(live):
                live.pop(old).close()
            live[route] = Env(tmp_path_factory.mktemp("matrix"))
        return live[route]

    yield get
    for env in live.values():
        env.close()


def matrix_params():
    for route in ROUTES:
        for fault in FAULTS:
            yield pytest.param(route, fault, id=f"{route}-{fault}")


@pytest.mark.parametrize("route,fault", list(matrix_params()))
def test_fault_matrix(envs, route, fault):
    env = envs(route)
    server, m = env.server, env.m
    server.admin("DELETE", "faults")
    case = ROUTES[route](env, fault)
    case.prepare()
    hup(m)
    assert_lists_server_state(server, m)  # the mount shows what the command acts on
    pins_before = {p["id"] for p in server.state()["pins"]}
    offset = len(m.log())
    server.fault(route=route, **FAULTS[fault])
    r = subprocess.run(case.command(), capture_output=True, text=True, timeout=60)
    server.admin("DELETE", "faults")
    done = case.done()
    # The program is told exactly what happened.
    assert (r.returncode == 0) == done, (r.returncode, r.stderr, done)
    # No pin made twice, none deleted but the one rm was about.
    pins_after = {p["id"] for p in server.state()["pins"]}
    if route == "DELETE /v5/pins/{pin_id}":
        assert pins_after == pins_before - ({case.pin["id"]} if done else set())
    elif route == "POST /v5/pins":
        assert len(pins_after - pins_before) == int(done) and pins_before <= pins_after
    else:
        assert pins_after == pins_before
    # Once its listings are forgotten, the mount shows exactly what the server holds.
    hup(m)
    assert_lists_server_state(server, m)
    time.sleep(0.2)
    bad = [line for line in env.log_since(offset).splitlines()
           if BAD_LOG.search(line) and not any(re.search(p, line) for p in MATRIX_LOG)]
    assert not bad, "pinfs logged:\n" + "\n".join(bad)
