"""Modification times: a sidecar's mtime and ctime move when its text changes, through the mount
or as a fresh listing shows it, and a folder's when names come or go in it, so that rsync and
find -newer see edits. An image keeps its pin's creation time. Times are whole seconds: each
test waits for the next second before the change it looks for."""

import io
import json
import os
import re
import shutil
import subprocess
import time

import pytest
from PIL import Image

SEED = "boards=3,pins=24,sections=2"
# Descriptions sed can be given back as they are, and changed into one of the same length.
PLAIN = re.compile(r"[A-Za-z0-9 .,'()-]+")


@pytest.fixture
def acct(fake, mount):
    server = fake(SEED)
    return server, mount(server, opts=("dir_cache_ttl=1",))


def first_board(m):
    return m.path("boards", sorted(os.listdir(m.path("boards")))[0])


def sidecars(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".json") and n != ".board.json")


def plain_sidecar(folder):
    """(name, parsed text) of the first sidecar in folder whose description is plain."""
    for name in sidecars(folder):
        doc = json.loads((folder / name).read_text())
        if isinstance(doc.get("description"), str) and PLAIN.fullmatch(doc["description"]):
            return name, doc
    raise AssertionError("no sidecar with a plain description in " + str(folder))


def mtimes(folder, names):
    return {n: os.stat(folder / n).st_mtime for n in names}


def next_second():
    """Sleeps into the next whole second: a change made now gets a later mtime than anything
    stamped before this call."""
    time.sleep(1.05 - time.time() % 1)


def sed_description(path, text):
    subprocess.run(["sed", "-i", f's/"description": .*,$/"description": "{text}",/', str(path)],
                   check=True)


def server_pin(server, pin_id):
    return next(p for p in server.state()["pins"] if p["id"] == pin_id)


def test_sed_moves_the_sidecars_times_and_its_folders(acct, tmp_path):
    server, m = acct
    top = first_board(m)
    name, doc = plain_sidecar(top)
    image = next(n for n in os.listdir(top) if n != name and n.startswith(name[:-5] + "."))
    was = os.stat(top / name)
    image_was = os.stat(top / image).st_mtime
    ref = tmp_path / "ref"
    ref.write_text("")
    next_second()
    before = time.time()
    sed_description(top / name, "Edited by sed")
    assert server_pin(server, doc["id"])["description"] == "Edited by sed"
    st = os.stat(top / name)
    assert json.loads((top / name).read_text())["description"] == "Edited by sed"
    assert st.st_mtime >= before - 1 and st.st_ctime >= before - 1
    assert st.st_mtime > was.st_mtime and st.st_ctime > was.st_ctime
    # The image's bytes did not change: it keeps its pin's creation time.
    assert os.stat(top / image).st_mtime == image_was
    r = subprocess.run(["find", str(m.path("boards")), "-newer", str(ref)], capture_output=True,
                       text=True, check=True)
    # .board.json moves too when boards/ was listed again meanwhile (past dir_cache_ttl on a
    # slow machine): the edit moved the board's board_pins_modified_at, which it shows.
    found = [p for p in r.stdout.splitlines() if not p.endswith("/.board.json")]
    assert [p for p in found if p.endswith(".json")] == [str(top / name)]
    # sed replaced the sidecar by renaming its own file over it, which changes the folder.
    assert sorted(found) == sorted([str(top), str(top / name)])
    # A later listing that says what the edit said changes nothing.
    folder = os.stat(top).st_mtime
    time.sleep(1.5)  # past dir_cache_ttl and the kernel's attribute timeout
    assert name in os.listdir(top)
    assert os.stat(top / name).st_mtime == st.st_mtime
    assert os.stat(top).st_mtime == folder


def test_a_change_made_elsewhere_moves_that_sidecar_only(acct):
    server, m = acct
    top = first_board(m)
    name, doc = plain_sidecar(top)
    was = mtimes(top, sidecars(top))
    folder_was = os.stat(top).st_mtime
    board_json_was = os.stat(top / ".board.json").st_mtime
    next_second()
    before = time.time()
    server.v5("PATCH", f"/pins/{doc['id']}", {"description": "Changed elsewhere"})
    time.sleep(1.5)  # past dir_cache_ttl and the kernel's attribute timeout
    assert json.loads((top / name).read_text())["description"] == "Changed elsewhere"
    now = mtimes(top, sidecars(top))
    assert now[name] >= before - 1 and now[name] > was[name]
    assert {n: t for n, t in now.items() if n != name} == \
        {n: t for n, t in was.items() if n != name}
    # Same names: the folder stays as it was.
    assert os.stat(top).st_mtime == folder_was
    # .board.json shows board_pins_modified_at, which the change moved.
    assert os.stat(top / ".board.json").st_mtime >= before - 1 > board_json_was


def test_a_folders_mtime_moves_when_names_come_or_go(acct, tmp_path):
    server, m = acct
    top = first_board(m)
    picture = tmp_path / "Fresh picture.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 220)).save(buf, "JPEG")
    picture.write_bytes(buf.getvalue())

    def moved(change):
        """The board's mtime after change(), which must be later than before it."""
        was = os.stat(top).st_mtime
        next_second()
        before = time.time()
        change()
        now = os.stat(top).st_mtime
        assert now >= before - 1 and now > was, change.__name__
        return now

    def cp_in():
        shutil.copy(picture, top / picture.name)
        assert "Fresh picture.json" in os.listdir(top)

    def rm():
        os.unlink(top / picture.name)
        assert "Fresh picture.json" not in os.listdir(top)

    def mkdir_section():
        os.mkdir(top / "New section")

    def added_elsewhere():
        board_id = json.loads((top / ".board.json").read_text())["id"]
        server.admin("POST", "pins", {"board_id": board_id, "title": "Added elsewhere"})
        time.sleep(1.5)  # past dir_cache_ttl and the kernel's attribute timeout
        assert "Added elsewhere.json" in os.listdir(top)

    for change in (cp_in, rm, mkdir_section, added_elsewhere):
        moved(change)
    boards_was = os.stat(m.path("boards")).st_mtime
    next_second()
    before = time.time()
    os.mkdir(m.path("boards", "Weekend plans"))
    assert os.stat(m.path("boards")).st_mtime >= before - 1
    assert os.stat(m.path("boards")).st_mtime > boards_was


def test_rsync_copies_an_edit_of_the_same_size(acct, tmp_path):
    server, m = acct
    top = first_board(m)
    name, doc = plain_sidecar(top)
    backup = tmp_path / "backup"

    def rsync():
        r = subprocess.run(["rsync", "-ai", f"{top}/", f"{backup}/"], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
        return [line.split(" ", 1)[1] for line in r.stdout.splitlines() if line[:2] == ">f"]

    assert name in rsync()
    size = os.stat(top / name).st_size
    edited = re.sub(r"[A-Za-z0-9]", "Z", doc["description"])
    assert edited != doc["description"]
    next_second()
    sed_description(top / name, edited)
    assert server_pin(server, doc["id"])["description"] == edited
    # Only the mtime tells rsync's quick check that the text changed.
    assert os.stat(top / name).st_size == size
    assert rsync() == [name]
    assert json.loads((backup / name).read_text())["description"] == edited
    assert (backup / name).read_bytes() == (top / name).read_bytes()
