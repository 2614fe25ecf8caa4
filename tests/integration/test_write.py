"""Writing through the mount: boards, sections and pins made, changed and deleted with ordinary
file operations, each checked against what the fake server now holds."""

import base64
import errno
import json
import os
import shutil
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

from naming import expected_tree
from pictures import jpeg, png

SEED = "boards=3,pins=24,sections=2"


@pytest.fixture
def acct(fake, mount, tmp_path):
    server = fake(SEED)
    m = mount(server)
    return server, m, tmp_path


def board(server, name):
    return next((b for b in server.state()["boards"] if b["name"] == name), None)


def io_jpeg(tmp_path):
    src = tmp_path / "shot.jpg"
    src.write_bytes(jpeg())
    return src


def pins_titled(server, title):
    return [p for p in server.state()["pins"] if p.get("title") == title]


def first_pin_files(m, board_dir):
    """(image name, json name) of one pin at the top of board_dir that has a title."""
    names = sorted(os.listdir(board_dir))
    for n in names:
        if n.endswith(".json") and n != ".board.json" and not n[0].isdigit():
            stem = n[:-5]
            for ext in (".jpg", ".png"):
                if stem + ext in names:
                    return stem + ext, n
    raise AssertionError("no titled pin in " + str(board_dir))


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, e.value


# ---- boards and sections ----

def test_mkdir_makes_boards_and_sections(acct):
    server, m, _ = acct
    os.mkdir(m.path("boards", "Weekend plans"))
    b = board(server, "Weekend plans")
    assert b is not None
    os.mkdir(m.path("boards", "Weekend plans", "Saturday"))
    assert [s["name"] for s in server.state()["sections"][b["id"]]] == ["Saturday"]
    assert os.path.isdir(m.path("boards", "Weekend plans", "Saturday"))
    expect_errno(errno.EEXIST, os.mkdir, m.path("boards", "Weekend plans"))
    expect_errno(errno.EEXIST, os.mkdir, m.path("boards", "Weekend plans", "Saturday"))


def test_mkdir_refused_by_pinterest_is_einval(acct):
    server, m, _ = acct
    m.expect_log(r"a board of that name in another case exists")
    existing = server.state()["boards"][0]["name"]
    before = len(server.state()["boards"])
    # Pinterest refuses a second board whose name differs only in case: EEXIST, unsent.
    os.listdir(m.path("boards"))
    server.reset_counts()
    expect_errno(errno.EEXIST, os.mkdir, m.path("boards", existing.swapcase()))
    assert "POST /v5/boards" not in server.counts()
    assert len(server.state()["boards"]) == before
    m.expect_log(r"a section name has at most 180 characters")
    top = m.path("boards", sorted(os.listdir(m.path("boards")))[0])
    server.reset_counts()
    expect_errno(errno.EINVAL, os.mkdir, top / ("s" * 181))
    assert "POST /v5/boards/{board_id}/sections" not in server.counts()


def test_rmdir_deletes_only_empty_folders(acct):
    server, m, _ = acct
    full = sorted(os.listdir(m.path("boards")))[0]
    expect_errno(errno.ENOTEMPTY, os.rmdir, m.path("boards", full))
    assert board(server, full.replace("\uff0f", "/")) is not None
    os.mkdir(m.path("boards", "Empty"))
    os.mkdir(m.path("boards", "Empty", "Inner"))
    expect_errno(errno.ENOTEMPTY, os.rmdir, m.path("boards", "Empty"))
    os.rmdir(m.path("boards", "Empty", "Inner"))
    b = board(server, "Empty")
    assert server.state()["sections"].get(b["id"], []) == []
    os.rmdir(m.path("boards", "Empty"))
    assert board(server, "Empty") is None
    assert "Empty" not in os.listdir(m.path("boards"))


def test_mv_renames_boards_and_sections(acct):
    server, m, _ = acct
    os.mkdir(m.path("boards", "Old name"))
    os.mkdir(m.path("boards", "Old name", "Part one"))
    os.rename(m.path("boards", "Old name"), m.path("boards", "New name"))
    assert board(server, "Old name") is None and board(server, "New name") is not None
    os.rename(m.path("boards", "New name", "Part one"), m.path("boards", "New name", "Part 1"))
    b = board(server, "New name")
    assert [s["name"] for s in server.state()["sections"][b["id"]]] == ["Part 1"]
    assert os.listdir(m.path("boards", "New name", "Part 1")) == []
    other = next(n for n in os.listdir(m.path("boards")) if n != "New name")
    m.expect_log(r"cannot move there")
    expect_errno(errno.EINVAL, os.rename, m.path("boards", "New name"),
                 m.path("boards", other, "New name"))



def test_a_boards_list_from_before_a_rename_does_not_undo_it(fake, mount, tmp_path):
    """The boards list expires while a board's rename is on its way: the list, answered before
    the rename and arriving after it, must not bring the old name back (mv of a board, then
    rm in it)."""
    server = fake(SEED)
    m = mount(server, opts=("dir_cache_ttl=1",))
    os.mkdir(m.path("boards", "Before"))
    shutil.copyfile(io_jpeg(tmp_path), m.path("boards", "Before", "shot.jpg"))
    other = next(n for n in os.listdir(m.path("boards")) if n != "Before")   # fresh for 1 s
    # The rename is performed 1.5 s late; the list, asked once it expired, is answered at once
    # (with the old name) but delivered 1 s late, after the rename.
    server.fault(route="PATCH /v5/boards/{board_id}", action="delay", ms=1500, count=1)
    server.fault(route="GET /v5/boards", action="stall", bytes=0, ms=1000, count=1)
    mv = threading.Thread(target=os.rename,
                          args=(m.path("boards", "Before"), m.path("boards", "After")))
    mv.start()
    time.sleep(1.1)
    # A look at another board while the rename holds boards/: its name is known to the
    # kernel, so it is asked again without waiting for the rename, and the list with it.
    lister = threading.Thread(target=os.stat, args=(m.path("boards", other),))
    lister.start()
    mv.join()
    lister.join()
    time.sleep(0.2)
    names = os.listdir(m.path("boards"))
    assert "After" in names and "Before" not in names
    os.unlink(m.path("boards", "After", "shot.jpg"))
    assert not pins_titled(server, "shot")


def test_board_json_edit_sends_one_patch(acct):
    server, m, _ = acct
    os.mkdir(m.path("boards", "Notes"))
    path = m.path("boards", "Notes", ".board.json")
    doc = json.loads(path.read_text())
    doc["description"] = "Things to remember"
    doc["privacy"] = "SECRET"
    server.reset_counts()
    path.write_text(json.dumps(doc, indent=2))
    assert server.counts() == {"PATCH /v5/boards/{board_id}": 1}
    b = board(server, "Notes")
    assert b["description"] == "Things to remember" and b["privacy"] == "SECRET"
    assert json.loads(path.read_text())["privacy"] == "SECRET"


def test_rm_r_of_a_board_with_sections(acct):
    server, m, _ = acct
    state = server.state()
    b = max((b for b in state["boards"] if state["sections"].get(b["id"])),
            key=lambda b: b["pin_count"])
    name = b["name"].replace("/", "\uff0f")
    r = subprocess.run(["rm", "-r", str(m.path("boards", name))], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == ""
    state = server.state()
    assert all(x["id"] != b["id"] for x in state["boards"])
    assert not [p for p in state["pins"] if p["board_id"] == b["id"]]
    assert name not in os.listdir(m.path("boards"))



def test_rm_r_of_a_board_while_its_sizes_are_learnt(acct):
    """rm -r asks for the sizes of the images it removes, and each pin it deletes lists the
    board anew while a size sweep may still be out: no image is asked for twice, and no
    image whose pin is gone is reported as a size not learnt."""
    server, m, _ = acct
    state = server.state()
    b = max(state["boards"], key=lambda b: b["pin_count"])
    d = m.path("boards", b["name"].replace("/", "\uff0f"))
    image = next(n for n in sorted(os.listdir(d)) if n.endswith((".jpg", ".png")))
    server.reset_counts()
    server.fault(route="HEAD /img", action="delay", ms=1200, count=1000)
    outcome = []

    def stat():   # a size, or ENOENT when rm took the pin first: either is right
        try:
            outcome.append(os.stat(d / image).st_size > 0)
        except FileNotFoundError:
            outcome.append("gone")

    t = threading.Thread(target=stat)
    t.start()
    time.sleep(0.3)  # the sweep's HEADs are out, waiting on the server
    r = subprocess.run(["rm", "-r", str(d)], capture_output=True, text=True)
    t.join()
    assert outcome in ([True], ["gone"]), outcome
    assert r.returncode == 0 and r.stderr == ""
    assert b["id"] not in [x["id"] for x in server.state()["boards"]]
    m.unmount()  # waits for the sweep
    heads = server.counts().get("HEAD /img", 0)
    assert 0 < heads <= b["pin_count"]
    assert "could not learn the size" not in m.log()



def test_an_image_deleted_elsewhere_during_a_sweep_is_asked_once(acct):
    """Another client deletes a pin while pinfs is learning its folder's sizes: its HEAD gets a
    404, a final answer, so it is not asked again; the size is reported as not learnt."""
    server, m, _ = acct
    state = server.state()
    b = max(state["boards"], key=lambda b: b["pin_count"])
    d = m.path("boards", b["name"].replace("/", "\uff0f"))
    images = [n for n in sorted(os.listdir(d)) if n.endswith((".jpg", ".png"))]
    assert len(images) >= 2
    victim = json.loads((d / (images[1].rsplit(".", 1)[0] + ".json")).read_text())["id"]
    m.expect_log(r"could not learn the size of 1 image")
    server.reset_counts()
    server.fault(route="HEAD /img", action="delay", ms=800, count=len(images))
    t = threading.Thread(target=os.stat, args=(d / images[0],))
    t.start()
    time.sleep(0.2)  # the HEADs are out, waiting on the server
    server.v5("DELETE", f"/pins/{victim}")
    t.join()

    def heads_seen():
        return [r for r in server.admin("GET", "requests")["requests"] if r["route"] == "HEAD /img"]
    # The stat returns with its own size; the sweep's other HEADs may still be on their way, and
    # an unmount cancels those: wait for them (a second one for any image would show too).
    deadline = time.time() + 10
    while len(heads_seen()) < len(images) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    m.unmount()
    heads = heads_seen()
    assert len(heads) == len(images)
    assert sorted(r["status"] for r in heads) == [200] * (len(images) - 1) + [404]


# ---- pins ----

def test_cp_creates_a_pin(acct):
    server, m, tmp = acct
    src = tmp / "photo.jpg"
    src.write_bytes(jpeg())
    os.mkdir(m.path("boards", "Uploads"))
    server.reset_counts()
    subprocess.run(["cp", str(src), str(m.path("boards", "Uploads"))], check=True)
    assert server.counts().get("POST /v5/pins") == 1
    [pin] = pins_titled(server, "photo")
    assert pin["board_id"] == board(server, "Uploads")["id"]
    assert server.fetch(pin["media"]["images"]["originals"]["url"]) == src.read_bytes()
    assert sorted(os.listdir(m.path("boards", "Uploads"))) == [".board.json", "photo.jpg", "photo.json"]
    assert json.loads(m.path("boards", "Uploads", "photo.json").read_text())["id"] == pin["id"]
    assert m.path("boards", "Uploads", "photo.jpg").read_bytes() == src.read_bytes()


def test_cp_into_a_section_and_a_png_named_jpg_keeps_its_name(acct):
    server, m, tmp = acct
    os.mkdir(m.path("boards", "Uploads"))
    os.mkdir(m.path("boards", "Uploads", "Greens"))
    src = tmp / "leaf.jpg"
    src.write_bytes(png())
    shutil.copyfile(src, m.path("boards", "Uploads", "Greens", "leaf.jpg"))
    [pin] = pins_titled(server, "leaf")
    b = board(server, "Uploads")
    assert pin["board_section_id"] == server.state()["sections"][b["id"]][0]["id"]
    assert sorted(os.listdir(m.path("boards", "Uploads", "Greens"))) == ["leaf.jpg", "leaf.json"]


def test_a_file_that_is_no_image_fails_at_close_and_sends_nothing(acct):
    server, m, tmp = acct
    m.expect_log(r"not uploaded|not JPEG or PNG")
    os.mkdir(m.path("boards", "Uploads"))
    src = tmp / "bad.jpg"
    content = b"just some text\n"
    src.write_bytes(content)
    server.reset_counts()
    r = subprocess.run(["cp", str(src), str(m.path("boards", "Uploads"))], capture_output=True,
                       text=True)
    assert r.returncode != 0 and "medium" in r.stderr.lower()
    assert "POST /v5/pins" not in server.counts()
    assert pins_titled(server, "bad") == []
    assert sorted(os.listdir(m.path("boards", "Uploads"))) == [".board.json"]
    assert src.read_bytes() == content
    # Empty and cut-off pictures: tests/integration/test_tools.py (they stay local files).


def test_over_long_title_is_enametoolong(acct):
    server, m, _ = acct
    m.expect_log(r"at most 100 characters")
    os.mkdir(m.path("boards", "Uploads"))
    expect_errno(errno.ENAMETOOLONG, open, m.path("boards", "Uploads", "x" * 101 + ".jpg"), "wb")
    with open(m.path("boards", "Uploads", "y" * 100 + ".jpg"), "wb") as f:
        f.write(jpeg())
    assert len(pins_titled(server, "y" * 100)) == 1


def test_scratch_files_stay_local_until_renamed(acct):
    server, m, _ = acct
    os.mkdir(m.path("boards", "Uploads"))
    d = m.path("boards", "Uploads")
    for name in (".draft.jpg", "notes.swp", "backup.jpg~", ".~lock.x.json#", "sedAbC123"):
        (d / name).write_bytes(jpeg())
    assert server.state()["pins"] == [p for p in server.state()["pins"] if p["board_id"] != board(server, "Uploads")["id"]]
    assert {".draft.jpg", "notes.swp", "backup.jpg~", "sedAbC123"} <= set(os.listdir(d))
    os.rename(d / ".draft.jpg", d / "final.jpg")
    assert len(pins_titled(server, "final")) == 1
    assert "final.json" in os.listdir(d) and ".draft.jpg" not in os.listdir(d)
    for name in ("notes.swp", "backup.jpg~", ".~lock.x.json#", "sedAbC123"):
        os.unlink(d / name)
    assert sorted(os.listdir(d)) == [".board.json", "final.jpg", "final.json"]


def test_mv_retitles_and_moves(acct):
    server, m, _ = acct
    os.mkdir(m.path("boards", "A"))
    os.mkdir(m.path("boards", "B"))
    os.mkdir(m.path("boards", "B", "Sub"))
    (m.path("boards", "A", "one.jpg")).write_bytes(jpeg())
    [pin] = pins_titled(server, "one")
    os.rename(m.path("boards", "A", "one.jpg"), m.path("boards", "A", "two.jpg"))
    assert sorted(os.listdir(m.path("boards", "A"))) == [".board.json", "two.jpg", "two.json"]
    assert pins_titled(server, "two")[0]["id"] == pin["id"]
    os.rename(m.path("boards", "A", "two.json"), m.path("boards", "B", "Sub", "two.json"))
    moved = pins_titled(server, "two")[0]
    b = board(server, "B")
    assert moved["board_id"] == b["id"]
    assert moved["board_section_id"] == server.state()["sections"][b["id"]][0]["id"]
    assert sorted(os.listdir(m.path("boards", "B", "Sub"))) == ["two.jpg", "two.json"]
    os.rename(m.path("boards", "B", "Sub", "two.jpg"), m.path("boards", "B", "three.jpg"))
    moved = pins_titled(server, "three")[0]
    assert moved["board_id"] == b["id"] and moved["board_section_id"] is None
    assert len([p for p in server.state()["pins"] if p["id"] == pin["id"]]) == 1


def test_refused_move_falls_back_to_copy(acct):
    server, m, _ = acct
    m.expect_log(r"PATCH /pins/\d+: HTTP 403")
    os.mkdir(m.path("boards", "A"))
    os.mkdir(m.path("boards", "B"))
    (m.path("boards", "A", "keep.jpg")).write_bytes(jpeg())
    data = m.path("boards", "A", "keep.jpg").read_bytes()
    server.fault(route="PATCH /v5/pins/{pin_id}", count=1, action="status", status=403)
    subprocess.run(["mv", str(m.path("boards", "A", "keep.jpg")), str(m.path("boards", "B"))],
                   check=True)
    [pin] = pins_titled(server, "keep")
    assert pin["board_id"] == board(server, "B")["id"]
    assert m.path("boards", "B", "keep.jpg").read_bytes() == data
    assert sorted(os.listdir(m.path("boards", "A"))) == [".board.json"]


def test_rm_deletes_the_pin_and_its_sidecar(acct):
    server, m, _ = acct
    top = m.path("boards", sorted(os.listdir(m.path("boards")))[0])
    image, sidecar = first_pin_files(m, top)
    pin_id = json.loads((top / sidecar).read_text())["id"]
    m.expect_log(r"remove the pin's image")
    expect_errno(errno.EPERM, os.unlink, top / sidecar)
    assert any(p["id"] == pin_id for p in server.state()["pins"])
    r = subprocess.run(["rm", str(top / image), str(top / sidecar)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == ""
    assert not any(p["id"] == pin_id for p in server.state()["pins"])
    assert image not in os.listdir(top) and sidecar not in os.listdir(top)


def test_editing_a_sidecar_sends_one_patch(acct):
    server, m, _ = acct
    top = m.path("boards", sorted(os.listdir(m.path("boards")))[0])
    _, sidecar = first_pin_files(m, top)
    doc = json.loads((top / sidecar).read_text())
    doc["description"] = "Edited by hand"
    doc["link"] = "https://example.org/x"
    server.reset_counts()
    (top / sidecar).write_text(json.dumps(doc, indent=2))
    assert server.counts() == {"PATCH /v5/pins/{pin_id}": 1}
    pin = next(p for p in server.state()["pins"] if p["id"] == doc["id"])
    assert pin["description"] == "Edited by hand" and pin["link"] == "https://example.org/x"
    assert json.loads((top / sidecar).read_text())["description"] == "Edited by hand"


def test_sed_in_place_edits_without_a_stray_pin(acct):
    server, m, _ = acct
    top = m.path("boards", sorted(os.listdir(m.path("boards")))[0])
    _, sidecar = first_pin_files(m, top)
    before = sorted(os.listdir(top))
    pin_id = json.loads((top / sidecar).read_text())["id"]
    server.reset_counts()
    subprocess.run(["sed", "-i", 's/"alt_text": .*,/"alt_text": "sedded",/', str(top / sidecar)],
                   check=True)
    assert server.counts() == {"PATCH /v5/pins/{pin_id}": 1}
    assert next(p for p in server.state()["pins"] if p["id"] == pin_id)["alt_text"] == "sedded"
    assert sorted(os.listdir(top)) == before


def test_editor_style_save_through_a_temp_file(acct):
    server, m, _ = acct
    top = m.path("boards", sorted(os.listdir(m.path("boards")))[0])
    _, sidecar = first_pin_files(m, top)
    doc = json.loads((top / sidecar).read_text())
    doc["alt_text"] = "saved by an editor"
    tmp = top / ("." + sidecar + ".tmp1234")
    tmp.write_text(json.dumps(doc))
    os.rename(tmp, top / sidecar)
    assert next(p for p in server.state()["pins"] if p["id"] == doc["id"])["alt_text"] == \
        "saved by an editor"
    assert not tmp.exists()


@pytest.mark.parametrize("change", ["malformed", "unknown", "readonly", "too-long"])
def test_bad_sidecar_edits_are_einval_and_change_nothing(acct, change):
    server, m, _ = acct
    m.expect_log(r"edit refused|not a JSON object|unknown field|read-only|at most")
    top = m.path("boards", sorted(os.listdir(m.path("boards")))[0])
    _, sidecar = first_pin_files(m, top)
    original = (top / sidecar).read_text()
    doc = json.loads(original)
    if change == "malformed":
        text = original[:-10] + "]}"  # wrong already: more bytes cannot mend it
    else:
        doc.update({"unknown": {"colour": 1}, "readonly": {"id": "1"},
                    "too-long": {"title": "t" * 101}}[change])
        text = json.dumps(doc)
    server.reset_counts()
    f = open(top / sidecar, "w")
    f.write(text)
    with pytest.raises(OSError) as e:
        f.close()
    assert e.value.errno == errno.EINVAL
    assert server.counts() == {}
    assert (top / sidecar).read_text() == original


def test_setfattr_edits_the_pin(acct):
    server, m, _ = acct
    top = m.path("boards", sorted(os.listdir(m.path("boards")))[0])
    image, sidecar = first_pin_files(m, top)
    pin_id = json.loads((top / sidecar).read_text())["id"]
    os.setxattr(top / image, "user.pinterest.description", "from an xattr".encode())
    assert next(p for p in server.state()["pins"] if p["id"] == pin_id)["description"] == \
        "from an xattr"
    assert os.getxattr(top / image, "user.pinterest.description") == b"from an xattr"
    m.expect_log(r"read-only")
    expect_errno(errno.EPERM, os.setxattr, top / image, "user.pinterest.id", b"1")


def test_writing_an_existing_image_is_eperm(acct):
    server, m, _ = acct
    m.expect_log(r"cannot replace a pin's image")
    top = m.path("boards", sorted(os.listdir(m.path("boards")))[0])
    image, _ = first_pin_files(m, top)
    expect_errno(errno.EPERM, open, top / image, "r+b")
    expect_errno(errno.EPERM, open, top / image, "wb")


def test_cp_a_rsync_and_tar(acct):
    server, m, tmp = acct
    src = tmp / "src"
    src.mkdir()
    for i, color in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        (src / f"pic{i}.jpg").write_bytes(jpeg(color))
    os.chmod(src / "pic0.jpg", 0o600)
    for d in ("CpA", "Rsync", "Inplace", "Tar"):
        os.mkdir(m.path("boards", d))
    subprocess.run(["cp", "-a", str(src / "pic0.jpg"), str(m.path("boards", "CpA"))], check=True)
    r = subprocess.run(["rsync", "-a", f"{src}/", str(m.path("boards", "Rsync")) + "/"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["rsync", "-a", "--inplace", f"{src}/", str(m.path("boards", "Inplace")) + "/"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with tarfile.open(tmp / "pics.tar", "w") as t:
        for i in range(3):
            t.add(src / f"pic{i}.jpg", arcname=f"pic{i}.jpg")
    subprocess.run(["tar", "-xf", str(tmp / "pics.tar"), "-C", str(m.path("boards", "Tar"))],
                   check=True)
    state = server.state()
    for d, n in (("CpA", 1), ("Rsync", 3), ("Inplace", 3), ("Tar", 3)):
        b = board(server, d)
        pins = [p for p in state["pins"] if p["board_id"] == b["id"]]
        assert sorted(p["title"] for p in pins) == [f"pic{i}" for i in range(n)], d
        for p in pins:
            assert server.fetch(p["media"]["images"]["originals"]["url"]) == \
                (src / (p["title"] + ".jpg")).read_bytes()
        listing = sorted(os.listdir(m.path("boards", d)))
        assert listing == [".board.json"] + sorted(f"pic{i}{e}" for i in range(n)
                                                   for e in (".jpg", ".json")), d


def test_chmod_chown_utime_are_accepted(acct):
    server, m, _ = acct
    top = m.path("boards", sorted(os.listdir(m.path("boards")))[0])
    image, _ = first_pin_files(m, top)
    os.chmod(top / image, 0o600)
    os.utime(top / image, (1, 1))
    os.chown(top / image, os.getuid(), os.getgid())


def test_read_only_mount(fake, mount, tmp_path):
    server = fake(SEED)
    m = mount(server, opts=("ro",))
    expect_errno(errno.EROFS, os.mkdir, m.path("boards", "Nope"))
    expect_errno(errno.EROFS, open, m.path("boards", sorted(os.listdir(m.path("boards")))[0], "x.jpg"), "wb")
    assert board(server, "Nope") is None


# ---- faults during writes ----

def test_server_error_on_upload_fails_cp_and_leaves_no_pin(acct):
    server, m, tmp = acct
    m.expect_log(r"POST /pins|not uploaded")
    os.mkdir(m.path("boards", "Uploads"))
    (tmp / "fail.jpg").write_bytes(jpeg())
    server.fault(route="POST /v5/pins", count=1, action="status", status=500)
    r = subprocess.run(["cp", str(tmp / "fail.jpg"), str(m.path("boards", "Uploads"))],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert pins_titled(server, "fail") == []
    assert sorted(os.listdir(m.path("boards", "Uploads"))) == [".board.json"]


def test_rate_limited_upload_is_retried_once_through(acct):
    server, m, tmp = acct
    os.mkdir(m.path("boards", "Uploads"))
    (tmp / "busy.jpg").write_bytes(jpeg())
    server.fault(route="POST /v5/pins", count=2, action="status", status=429,
                 headers={"Retry-After": "0"})
    subprocess.run(["cp", str(tmp / "busy.jpg"), str(m.path("boards", "Uploads"))], check=True)
    assert len(pins_titled(server, "busy")) == 1


def test_lost_answer_never_makes_two_pins(acct):
    server, m, tmp = acct
    m.expect_log(r"POST /pins|not uploaded")
    os.mkdir(m.path("boards", "Uploads"))
    (tmp / "lost.jpg").write_bytes(jpeg())
    server.fault(route="POST /v5/pins", count=1, action="close_after")
    r = subprocess.run(["cp", str(tmp / "lost.jpg"), str(m.path("boards", "Uploads"))],
                       capture_output=True, text=True)
    pins = pins_titled(server, "lost")
    assert len(pins) == 1
    assert r.returncode == 0, r.stderr
    assert "lost.json" in os.listdir(m.path("boards", "Uploads"))


def test_rm_takes_pins_out_of_the_listing_where_they_are(acct):
    """A removed pin leaves its board's listing in place: the other pins keep their names,
    their files and their sizes, in every folder, and the board is not listed again."""
    server, m, _ = acct
    def sections_of(top):
        return [top / d for d in sorted(os.listdir(top))
                if (top / d).is_dir() and any(n.endswith(".json") for n in os.listdir(top / d))]

    name = next(n for n in sorted(os.listdir(m.path("boards")))
                if sections_of(m.path("boards", n)))
    top = m.path("boards", name)
    sections = sections_of(top)
    sized = {}
    for folder in [top, *sections]:
        for n in os.listdir(folder):
            if (folder / n).is_file():
                sized[folder / n] = os.stat(folder / n).st_size   # learns the images' sizes
    gone = [first_pin_files(m, top), first_pin_files(m, sections[0])]
    gone_ids = {json.loads((d / s).read_text())["id"] for d, (_, s) in zip([top, sections[0]], gone)}
    server.reset_counts()
    for d, (image, sidecar) in zip([top, sections[0]], gone):
        subprocess.run(["rm", str(d / image), str(d / sidecar)], check=True)
    assert server.counts() == {"DELETE /v5/pins/{pin_id}": 2}
    pins = {p["id"]: p for p in server.state()["pins"]}
    assert not gone_ids & set(pins)
    expected = {m.path(p) for p, (kind, _) in expected_tree(server.state()).items()
                if p.startswith(f"boards/{name}/") and kind in ("image", "json")}
    seen = {folder / n for folder in [top, *sections] for n in os.listdir(folder)
            if (folder / n).is_file() and n != ".board.json"}
    assert seen == expected
    for path in seen:
        assert os.stat(path).st_size == sized[path], path
        if path.suffix == ".json":
            doc = json.loads(path.read_text())
            assert doc["id"] in pins and doc.get("title") == pins[doc["id"]].get("title"), path
    assert server.counts() == {"DELETE /v5/pins/{pin_id}": 2}   # nothing listed or sized again


def test_edits_that_keep_a_pins_title_change_its_sidecar_where_it_is(fake, mount):
    """An edit of a pin in a listed board that keeps its title and section (a description,
    a link, an alt text) changes its sidecar and nothing else: every pin keeps its name, its
    folder and its place, a suffixed name stays suffixed, each sidecar's size is its text's,
    and nothing is listed again. A new title in the same board still renames the pin, with
    the suffix a title already held takes, and a move out of a section still moves it."""
    server = fake(SEED)
    b = server.v5("POST", "/boards", {"name": "B"})
    sub = server.v5("POST", f"/boards/{b['id']}/sections", {"name": "Sub"})
    image = {"source_type": "image_base64", "content_type": "image/jpeg",
             "data": base64.b64encode(jpeg()).decode()}
    made = {}
    for key, title, section in (("first", "Sunset", None), ("second", "Sunset", None),
                                ("dusk", "Dusk", None), ("inner", "Noon", sub["id"])):
        body = {"board_id": b["id"], "title": title, "media_source": image}
        if section:
            body["board_section_id"] = section
        made[key] = server.v5("POST", "/pins", body)
    m = mount(server)
    folders = ("boards/B", "boards/B/Sub")
    for d in folders:
        subprocess.run(["ls", "-l", str(m.path(d))], check=True, capture_output=True)
    second = m.path("boards", "B", f"Sunset {{{made['second']['id']}}}.json")
    inner = m.path("boards", "B", "Sub", "Noon.json")
    dusk = m.path("boards", "B", "Dusk.json")
    assert second.exists() and inner.exists() and dusk.exists()
    server.reset_counts()
    edits = [(second, "description", "A second sunset, described at length " + "x" * 300),
             (inner, "alt_text", "noon"), (second, "link", "https://example.org/s"),
             (dusk, "title", "Sunset")]
    for path, key, value in edits:
        doc = json.loads(path.read_text())
        doc[key] = value
        path.write_text(json.dumps(doc, indent=2))
        if key == "title":
            path = path.with_name(f"Sunset {{{made['dusk']['id']}}}.json")
        assert json.loads(path.read_text())[key] == value, path
    # Out of its section, under the same title: another folder, so not in place either.
    os.rename(m.path("boards", "B", "Sub", "Noon.jpg"), m.path("boards", "B", "Noon.jpg"))
    assert server.counts() == {"PATCH /v5/pins/{pin_id}": 5}, server.counts()
    state = server.state()
    want = {p: x for p, (kind, x) in expected_tree(state).items()
            if p.startswith("boards/B/") and kind in ("image", "json")}
    for folder in folders:   # the same names, in a listing's order (oldest first)
        listed = [n for n in os.listdir(m.path(folder))
                  if n.endswith((".jpg", ".json")) and n != ".board.json"]
        assert listed == [p.rsplit("/", 1)[1] for p in want if p.rsplit("/", 1)[0] == folder]
    pins = {p["id"]: p for p in state["pins"]}
    for p in want:
        if p.endswith(".json"):
            size = m.path(p).stat().st_size   # before the text is printed by an open
            text = m.path(p).read_bytes()
            doc = json.loads(text)
            assert doc["id"] == want[p]["id"], p
            for key in ("title", "description", "link", "alt_text"):
                assert doc.get(key) == pins[doc["id"]].get(key), (p, key)
            assert size == len(text), p
    assert pins[made["second"]["id"]]["link"] == "https://example.org/s"
    assert {f"boards/B/Sunset {{{made[k]['id']}}}.json" for k in ("second", "dusk")} <= set(want)
    assert "boards/B/Noon.json" in want and not os.listdir(m.path("boards", "B", "Sub"))
    assert not [r for r in server.counts() if r.startswith("GET /v5")], server.counts()


def test_pins_added_to_a_listed_board_get_the_names_a_listing_gives(fake, mount, tmp_path):
    """An upload and a move into a board already listed go into its listing where they are:
    each pin's name, folder, files and place in the listing are those a fresh listing gives,
    a title already held there takes its suffix, and nothing is listed again."""
    server = fake(SEED)
    a = server.v5("POST", "/boards", {"name": "A"})
    b = server.v5("POST", "/boards", {"name": "B"})
    server.v5("POST", f"/boards/{b['id']}/sections", {"name": "Sub"})
    image = {"source_type": "image_base64", "content_type": "image/jpeg",
             "data": base64.b64encode(jpeg()).decode()}
    for board_id, title in ((b["id"], "Sunset"), (b["id"], "Dusk"), (a["id"], "Sunset"),
                            (a["id"], "Evening")):
        pin = server.v5("POST", "/pins", {"board_id": board_id, "title": title,
                                          "media_source": image})
    m = mount(server)
    for d in (m.path("boards", "B"), m.path("boards", "B", "Sub"), m.path("boards", "A")):
        subprocess.run(["ls", "-l", str(d)], check=True, capture_output=True)
    server.reset_counts()
    src = tmp_path / "Evening.jpg"
    src.write_bytes(jpeg((10, 10, 200)))
    shutil.copy(src, m.path("boards", "B", "Sub"))
    shutil.copy(src, m.path("boards", "B"))
    # A move whose answer holds a title B has already (as when the server keeps the old
    # title): the pin comes in as the second Sunset, suffixed with its id.
    moved = dict(pin, board_id=b["id"], board_section_id=None, title="Sunset")
    server.fault(route="PATCH /v5/pins/{pin_id}", count=1, action="status", status=200,
                 body=moved)
    os.rename(m.path("boards", "A", "Evening.jpg"), m.path("boards", "B", "Late.jpg"))
    sent = server.counts()
    assert sent == {"POST /v5/pins": 2, "PATCH /v5/pins/{pin_id}": 1}, sent
    state = server.state()
    state["pins"] = [moved if p["id"] == pin["id"] else p for p in state["pins"]]
    want = {p: x for p, (kind, x) in expected_tree(state).items()
            if p.startswith(("boards/A/", "boards/B/")) and kind in ("image", "json")}
    folders = ("boards/A", "boards/B", "boards/B/Sub")
    got = {f"{folder}/{n}" for folder in folders for n in os.listdir(m.path(folder))
           if m.path(folder, n).is_file() and n != ".board.json"}
    assert got == set(want)
    assert {f"boards/B/Sunset {{{pin['id']}}}.jpg", "boards/B/Evening.jpg",
            "boards/B/Sub/Evening.jpg"} <= got
    for folder in folders:   # in a listing's order too: oldest first
        listed = [n for n in os.listdir(m.path(folder))
                  if n.endswith((".jpg", ".json")) and n != ".board.json"]
        assert listed == [p.rsplit("/", 1)[1] for p in want if p.rsplit("/", 1)[0] == folder]
    for p in got:
        if p.endswith(".json"):
            assert json.loads(m.path(p).read_text())["id"] == want[p]["id"], p
        else:
            assert m.path(p).stat().st_size == len(m.path(p).read_bytes()) > 0, p
    # Only images were asked for since (the new pins' bytes): no listing.
    assert not [r for r in server.counts() if r.startswith("GET /v5")], server.counts()
