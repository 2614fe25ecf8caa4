"""Everyday tools writing through the mount, as a Debian desktop runs them: shell redirections
under bash and dash, dd, tee, cp, two writers of one name at once, names the account cannot hold.
Each test checks what the server then holds and what the calling program was told."""

import errno
import hashlib
import json
import os
import subprocess

import pytest

from pictures import jpeg, png

SEED = "boards=3,pins=24,sections=2"


@pytest.fixture
def acct(fake, mount, tmp_path):
    server = fake(SEED)
    m = mount(server)
    return server, m, tmp_path


def board_id(server, name):
    return next(b["id"] for b in server.state()["boards"] if b["name"] == name)


def pins_titled(server, title, images=False):
    return [p for p in server.state(images)["pins"] if p.get("title") == title]


def original_sha(pin):
    return pin["_image"]["originals"]["sha256"]


def sh(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True)


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, e.value


WRITERS = {
    "bash": lambda src, dst: sh("bash", "-c", f'cat "{src}" > "{dst}"'),
    "dash": lambda src, dst: sh("dash", "-c", f'cat "{src}" > "{dst}"'),
    "dd": lambda src, dst: sh("dd", f"if={src}", f"of={dst}", "bs=100"),
    "tee": lambda src, dst: sh("bash", "-c", f'cat "{src}" | tee "{dst}" >/dev/null'),
    "cp": lambda src, dst: sh("cp", str(src), str(dst)),
    "python": lambda src, dst: sh("/usr/bin/python3", "-c",
                                  f"open({str(dst)!r}, 'wb').write(open({str(src)!r}, 'rb').read())"),
}


@pytest.mark.parametrize("tool", sorted(WRITERS))
def test_every_writer_makes_one_pin_with_its_bytes(acct, tool):
    server, m, tmp = acct
    os.mkdir(m.path("boards", "Shell"))
    src = tmp / "photo.jpg"
    data = jpeg(size=(120, 90))
    src.write_bytes(data)
    server.reset_counts()
    r = WRITERS[tool](src, m.path("boards", "Shell", f"by {tool}.jpg"))
    assert r.returncode == 0, r.stderr
    pins = pins_titled(server, f"by {tool}", images=True)
    assert len(pins) == 1 and pins[0]["board_id"] == board_id(server, "Shell")
    assert original_sha(pins[0]) == hashlib.sha256(data).hexdigest()
    assert server.counts()["POST /v5/pins"] == 1
    assert m.path("boards", "Shell", f"by {tool}.jpg").read_bytes() == data
    assert sorted(os.listdir(m.path("boards", "Shell"))) == \
        [".board.json", f"by {tool}.jpg", f"by {tool}.json"]


@pytest.mark.parametrize("content", [b"", jpeg()[:-200], png()[:-20]],
                         ids=["empty", "cut-jpeg", "cut-png"])
@pytest.mark.parametrize("tool", ["cp", "bash", "dash"])
def test_a_partial_image_stays_a_local_file_and_sends_nothing(acct, content, tool):
    """No close can tell whether more bytes will come: what was written stays as written, a
    local file (listed, readable, removable), never a pin, and the log says why."""
    server, m, tmp = acct
    m.expect_log(r"closed before it was a whole picture or video")
    os.mkdir(m.path("boards", "Partial"))
    src = tmp / "part.jpg"
    src.write_bytes(content)
    server.reset_counts()
    dst = m.path("boards", "Partial", "part.jpg")
    r = WRITERS[tool](src, dst)
    assert r.returncode == 0, r.stderr
    assert "POST /v5/pins" not in server.counts()
    assert pins_titled(server, "part") == []
    assert sorted(os.listdir(m.path("boards", "Partial"))) == [".board.json", "part.jpg"]
    assert os.stat(dst).st_size == len(content) and dst.read_bytes() == content
    assert "closed before it was a whole" in m.log()
    os.unlink(dst)
    assert sorted(os.listdir(m.path("boards", "Partial"))) == [".board.json"]


@pytest.mark.parametrize("tool", ["cp", "bash", "dash", "dd"])
def test_a_file_that_is_no_image_fails_its_writer(acct, tool):
    server, m, tmp = acct
    m.expect_log(r"not JPEG or PNG|not uploaded")
    os.mkdir(m.path("boards", "Text"))
    src = tmp / "notes.jpg"
    src.write_bytes(b"just some text\n" * 10)
    server.reset_counts()
    r = WRITERS[tool](src, m.path("boards", "Text", "notes.jpg"))
    assert r.returncode != 0
    assert "medium" in r.stderr.lower()
    assert "POST /v5/pins" not in server.counts()
    assert sorted(os.listdir(m.path("boards", "Text"))) == [".board.json"]


def first_sidecar(m):
    top = m.path("boards", "Recipes")
    names = set(os.listdir(top))
    name = next(n for n in sorted(names) if n.endswith(".json") and n != ".board.json" and
                (n[:-5] + ".jpg" in names or n[:-5] + ".png" in names))
    return top / name


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_a_sidecar_edit_through_a_redirection_is_applied_once(acct, shell):
    server, m, tmp = acct
    side = first_sidecar(m)
    doc = json.loads(side.read_text())
    doc["description"] = f"written by {shell}"
    new = tmp / "new.json"
    new.write_text(json.dumps(doc, indent=2))
    server.reset_counts()
    r = sh(shell, "-c", f'cat "{new}" > "{side}"')
    assert r.returncode == 0, r.stderr
    assert server.counts() == {"PATCH /v5/pins/{pin_id}": 1}
    held = next(p for p in server.state()["pins"] if p["id"] == doc["id"])
    assert held["description"] == f"written by {shell}"
    assert "not a JSON object" not in m.log()


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_a_failed_sidecar_edit_through_a_redirection_fails_the_shell(acct, shell):
    server, m, tmp = acct
    m.expect_log(r"PATCH /pins/\d+: HTTP 500|not changed|PATCH")
    side = first_sidecar(m)
    doc = json.loads(side.read_text())
    before = doc["description"]
    doc["description"] = "never saved"
    new = tmp / "new.json"
    new.write_text(json.dumps(doc, indent=2))
    server.fault(route="PATCH /v5/pins/{pin_id}", action="status", status=500, count=10)
    r = sh(shell, "-c", f'cat "{new}" > "{side}"')
    assert r.returncode != 0
    held = next(p for p in server.state()["pins"] if p["id"] == doc["id"])
    assert held["description"] == before


def test_a_cut_short_sidecar_edit_changes_nothing_and_says_so(acct):
    server, m, _ = acct
    m.expect_log(r"closed before its JSON text was whole")
    side = first_sidecar(m)
    original = side.read_text()
    server.reset_counts()
    with open(side, "w") as f:
        f.write(original[: len(original) // 2])
    assert server.counts() == {}
    assert side.read_text() == original
    assert "closed before its JSON text was whole" in m.log()


def test_text_that_is_no_json_is_einval_without_a_spurious_line(acct):
    server, m, _ = acct
    m.expect_log(r"not a JSON object")
    side = first_sidecar(m)
    r = sh("dash", "-c", f'cat /etc/hostname > "{side}"')
    assert r.returncode != 0
    assert m.log().count("not a JSON object") == 1


def test_two_writers_of_one_new_name_make_one_pin(fake, mount, tmp_path):
    """20 rounds: two cp of one new name started together; one pin each round, never two,
    never none; the loser is told (EBUSY while the first uploads, or EPERM/EEXIST after)."""
    server = fake(SEED, "--latency-ms", "30")
    m = mount(server)
    m.expect_log(r"another writer is making this pin|cannot replace a pin's image")
    os.mkdir(m.path("boards", "Race"))
    srcs = []
    for i in range(2):
        p = tmp_path / f"src{i}.jpg"
        p.write_bytes(jpeg(color=(10 + 100 * i, 50, 50), size=(80, 60)))
        srcs.append(p)
    for rnd in range(20):
        dst = m.path("boards", "Race", f"race {rnd}.jpg")
        procs = [subprocess.Popen(["cp", str(s), str(dst)], stderr=subprocess.PIPE, text=True)
                 for s in srcs]
        results = [(p.wait(), p.stderr.read()) for p in procs]
        pins = pins_titled(server, f"race {rnd}", images=True)
        assert len(pins) == 1, (rnd, results)
        ok = [i for i, (rc, _) in enumerate(results) if rc == 0]
        assert len(ok) == 1, (rnd, results)
        loser = results[1 - ok[0]][1]
        assert "busy" in loser.lower() or "not permitted" in loser.lower() or \
            "exists" in loser.lower(), loser
        # The pin holds the winner's bytes, and reading it back gives them.
        assert original_sha(pins[0]) == hashlib.sha256(srcs[ok[0]].read_bytes()).hexdigest()
        assert dst.read_bytes() == srcs[ok[0]].read_bytes()


def test_two_shells_copying_one_folder_at_once(fake, mount, tmp_path):
    """Two `ls | xargs -P8 cp` of the same 20 pictures into one board, 20 rounds: every
    picture once, none twice, none missing."""
    server = fake(SEED, "--latency-ms", "5")
    m = mount(server)
    m.expect_log(r"another writer is making this pin|cannot replace a pin's image")
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(20):
        (pics / f"p{i:02d}.jpg").write_bytes(jpeg(color=(i * 12, 90, 200 - i * 5), size=(32, 24)))
    for rnd in range(20):
        name = f"Both {rnd}"
        os.mkdir(m.path("boards", name))
        dst = m.path("boards", name)
        cmd = f'ls "{pics}"/*.jpg | xargs -P8 -I{{}} cp {{}} "{dst}/"'
        procs = [subprocess.Popen(["bash", "-c", cmd], stderr=subprocess.DEVNULL)
                 for _ in range(2)]
        for p in procs:
            p.wait()
        bid = board_id(server, name)
        titles = sorted(p["title"] for p in server.state()["pins"] if p["board_id"] == bid)
        assert titles == [f"p{i:02d}" for i in range(20)], (rnd, titles)


def test_names_over_255_bytes_are_enametoolong_before_any_request(acct):
    server, m, _ = acct
    m.expect_log(r"a name has at most 255 bytes")
    long = "x" * 256
    server.reset_counts()
    expect_errno(errno.ENAMETOOLONG, os.mkdir, m.path("boards", long))
    expect_errno(errno.ENAMETOOLONG, os.mkdir, m.path("boards", "Recipes", long))
    expect_errno(errno.ENAMETOOLONG, os.rename, m.path("boards", "Travel"), m.path("boards", long))
    expect_errno(errno.ENAMETOOLONG, open, m.path("boards", "Travel", "." + "y" * 4000), "wb")
    expect_errno(errno.ENAMETOOLONG, os.stat, m.path("boards", long))
    assert server.counts() == {}
    assert sorted(b["name"].replace("/", "／") for b in server.state()["boards"]) == \
        sorted(os.listdir(m.path("boards")))
    # 255 bytes is a name like any other (a scratch file: it never reaches Pinterest).
    ok = m.path("boards", "Travel", "." + "z" * 254)
    ok.write_bytes(b"draft")
    assert ok.read_bytes() == b"draft"


@pytest.mark.parametrize("name", ["new\nline.jpg", "tab\there.jpg", "bell\x07.jpg",
                                  "latin1 caf\udce9.jpg"])
def test_names_with_control_characters_or_bad_utf8_are_einval(acct, tmp_path, name):
    server, m, _ = acct
    m.expect_log(r"a name must be UTF-8 text without control characters")
    src = tmp_path / "ok.jpg"
    src.write_bytes(jpeg())
    server.reset_counts()
    dst = os.path.join(os.fsencode(m.path("boards", "Travel")), os.fsencode(name))
    expect_errno(errno.EINVAL, open, dst, "wb")
    expect_errno(errno.EINVAL, os.mkdir, os.path.join(os.fsencode(m.path("boards")),
                                                      os.fsencode(name[:-4])))
    # The kernel's look-up of the name may list the board; nothing is written.
    assert not [r for r in server.counts() if not r.startswith("GET ")]
    assert not [p for p in server.state()["pins"] if "\n" in (p.get("title") or "")]


def test_links_and_special_files_are_eperm(acct):
    server, m, _ = acct
    m.expect_log(r"Pinterest holds no such thing")
    d = m.path("boards", "Travel")
    expect_errno(errno.EPERM, os.symlink, "/etc/passwd", d / "link.jpg")
    expect_errno(errno.EPERM, os.mkfifo, d / "fifo")
    expect_errno(errno.EPERM, os.mknod, d / "node")
    some = next(n for n in os.listdir(d) if n.endswith(".jpg"))
    expect_errno(errno.EPERM, os.link, d / some, d / "hard.jpg")


def test_df_reports_free_inodes_and_the_pin_count(acct):
    server, m, _ = acct
    os.listdir(m.path("boards", "Recipes"))
    st = os.statvfs(m.dir)
    assert st.f_ffree > 1_000_000 and st.f_favail == st.f_ffree
    r = sh("df", "-i", str(m.dir))
    assert r.returncode == 0 and "100%" not in r.stdout


def held(server, pin_id):
    return next(p for p in server.state()["pins"] if p["id"] == pin_id)


def test_cp_a_carries_a_pins_text_in_its_one_post(acct, tmp_path):
    server, m, _ = acct
    src = tmp_path / "Tart {123}.jpg"
    src.write_bytes(jpeg())
    for k, v in (("title", "Tart"), ("description", "with lemon"), ("link", "https://example.com/t"),
                 ("alt_text", "a tart"), ("id", "999"), ("board_id", "1"),
                 ("url", "https://example.com/p")):
        os.setxattr(src, f"user.pinterest.{k}", v.encode())
    os.listdir(m.path("boards", "Travel"))
    server.reset_counts()
    r = sh("cp", "-a", str(src), str(m.path("boards", "Travel")))
    assert r.returncode == 0, r.stderr
    assert server.counts() == {"POST /v5/pins": 1}
    [pin] = pins_titled(server, "Tart")
    assert (pin["description"], pin["link"], pin["alt_text"]) == \
        ("with lemon", "https://example.com/t", "a tart")
    assert pin["id"] != "999" and pin["board_id"] != "1"


def test_a_refused_move_copies_the_pins_text_with_it(acct):
    server, m, _ = acct
    m.expect_log(r"PATCH /pins/\d+: HTTP 403")
    os.mkdir(m.path("boards", "A"))
    os.mkdir(m.path("boards", "B"))
    m.path("boards", "A", "keep.jpg").write_bytes(jpeg())
    os.setxattr(m.path("boards", "A", "keep.jpg"), "user.pinterest.description", b"travels along")
    os.setxattr(m.path("boards", "A", "keep.jpg"), "user.pinterest.alt_text", b"alt too")
    server.fault(route="PATCH /v5/pins/{pin_id}", count=1, action="status", status=403)
    r = sh("mv", str(m.path("boards", "A", "keep.jpg")), str(m.path("boards", "B")))
    assert r.returncode == 0, r.stderr
    [pin] = pins_titled(server, "keep")
    assert pin["board_id"] == board_id(server, "B")
    assert (pin["description"], pin["alt_text"]) == ("travels along", "alt too")


def test_cp_r_of_a_board_within_the_mount_keeps_each_pins_text(acct, tmp_path):
    server, m, _ = acct
    os.mkdir(m.path("boards", "Orig"))
    for i in range(4):
        p = m.path("boards", "Orig", f"pic {i}.jpg")
        p.write_bytes(jpeg(color=(i * 50, 20, 20)))
        os.setxattr(p, "user.pinterest.description", f"text {i}".encode())
        os.setxattr(p, "user.pinterest.link", f"https://example.com/{i}".encode())
    r = sh("cp", "-r", str(m.path("boards", "Orig")), str(m.path("boards", "Copy")))
    # The new board has a .board.json of its own, and cp says so; nothing else fails.
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        f"cp: cannot create regular file '{m.path('boards', 'Copy', '.board.json')}': File exists"]
    bid = board_id(server, "Copy")
    pins = sorted((p["title"], p["description"], p["link"])
                  for p in server.state()["pins"] if p["board_id"] == bid)
    assert pins == [(f"pic {i}", f"text {i}", f"https://example.com/{i}") for i in range(4)]
    assert sorted(os.listdir(m.path("boards", "Copy"))) == \
        sorted(os.listdir(m.path("boards", "Orig")))
    # The maker itself sees a new board's .board.json and a new pin's sidecar at once
    # outside a folder it made.
    os.mkdir(m.path("boards", "Fresh"))
    assert json.loads(m.path("boards", "Fresh", ".board.json").read_text())["name"] == "Fresh"
    m.path("boards", "Travel", "seen.jpg").write_bytes(jpeg())
    assert json.loads(m.path("boards", "Travel", "seen.json").read_text())["title"] == "seen"


def test_a_sidecar_copied_in_before_its_image_goes_into_the_post(acct, tmp_path):
    server, m, _ = acct
    os.mkdir(m.path("boards", "Pair"))
    doc = {"id": "1", "title": "pair", "description": "from the sidecar", "link": None,
           "alt_text": "alt from the sidecar"}
    (m.path("boards", "Pair", "pair.json")).write_text(json.dumps(doc))
    server.reset_counts()
    m.path("boards", "Pair", "pair.jpg").write_bytes(jpeg())
    assert server.counts() == {"POST /v5/pins": 1}
    [pin] = pins_titled(server, "pair")
    assert (pin["description"], pin["alt_text"]) == ("from the sidecar", "alt from the sidecar")
    assert sorted(os.listdir(m.path("boards", "Pair"))) == [".board.json", "pair.jpg", "pair.json"]
    assert json.loads(m.path("boards", "Pair", "pair.json").read_text())["id"] == pin["id"]


@pytest.mark.parametrize("bad", [b'"description": "caf\xe9"', b'"description": "cut\\u0000here"'],
                         ids=["latin1", "nul"])
def test_sidecar_text_that_is_not_utf8_or_holds_a_nul_is_einval(acct, bad):
    server, m, _ = acct
    m.expect_log(r"not UTF-8|holds \\u0000|edit refused")
    side = first_sidecar(m)
    original = side.read_bytes()
    doc = json.loads(original)
    text = json.dumps({k: v for k, v in doc.items() if k != "description"})
    raw = text[:-1].encode() + b", " + bad + b"}"
    server.reset_counts()
    f = open(side, "wb")
    f.write(raw)
    with pytest.raises(OSError) as e:
        f.close()
    assert e.value.errno == errno.EINVAL
    assert server.counts() == {}
    assert side.read_bytes() == original


def test_setfattr_of_bytes_that_are_not_utf8_is_einval(acct):
    server, m, _ = acct
    m.expect_log(r"not UTF-8")
    side = first_sidecar(m)
    image = next(p for p in side.parent.iterdir()
                 if p.stem == side.stem and p.suffix in (".jpg", ".png"))
    server.reset_counts()
    expect_errno(errno.EINVAL, os.setxattr, image, "user.pinterest.description", b"caf\xe9")
    assert server.counts() == {}


def remount(mount, server, m):
    m.unmount()
    return mount(server, cache_dir=m.cache_dir)


def rsync(*args):
    return sh("rsync", "-a", "--stats", *args)


def transferred(r):
    return int(next(line for line in r.stdout.splitlines()
                    if line.startswith("Number of regular files transferred")).split(":")[1]
               .strip().replace(",", ""))


def test_rsync_a_twice_sends_nothing_even_after_a_remount(fake, mount, tmp_path):
    server = fake(SEED)
    m = mount(server)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"pic{i}.jpg").write_bytes(jpeg(color=(i * 80, 10, 10)))
        os.utime(src / f"pic{i}.jpg", (1_600_000_000 + i, 1_600_000_000 + i))
    os.mkdir(m.path("boards", "Mirror"))
    dst = str(m.path("boards", "Mirror")) + "/"
    r = rsync(f"{src}/", dst)
    assert r.returncode == 0 and transferred(r) == 3, r.stderr
    for i in range(3):
        st = os.stat(m.path("boards", "Mirror", f"pic{i}.jpg"))
        assert (st.st_size, int(st.st_mtime)) == ((src / f"pic{i}.jpg").stat().st_size,
                                                  1_600_000_000 + i)
        assert m.path("boards", "Mirror", f"pic{i}.jpg").read_bytes() == \
            (src / f"pic{i}.jpg").read_bytes()
    server.reset_counts()
    r = rsync(f"{src}/", dst)
    assert r.returncode == 0 and transferred(r) == 0, r.stdout + r.stderr
    assert not [k for k in server.counts() if not k.startswith("GET ")]
    m = remount(mount, server, m)
    dst = str(m.path("boards", "Mirror")) + "/"
    r = rsync(f"{src}/", dst)
    assert r.returncode == 0 and transferred(r) == 0, r.stdout + r.stderr
    bid = board_id(server, "Mirror")
    assert len([p for p in server.state()["pins"] if p["board_id"] == bid]) == 3


def test_rsync_delete_with_the_documented_excludes_deletes_just_the_pins_that_went(acct):
    server, m, tmp = acct
    src = tmp / "src"
    src.mkdir()
    for i in range(5):
        (src / f"pic{i}.jpg").write_bytes(jpeg(color=(i * 50, 10, 90)))
    os.mkdir(m.path("boards", "Mirror"))
    os.mkdir(m.path("boards", "Mirror", "A section"))
    dst = str(m.path("boards", "Mirror")) + "/"
    assert rsync(f"{src}/", dst).returncode == 0
    m.path("boards", "Mirror", "A section", "kept.jpg").write_bytes(jpeg())
    os.unlink(src / "pic1.jpg")
    os.unlink(src / "pic3.jpg")
    r = rsync("--delete", "--exclude=*.json", "--exclude=/*/", f"{src}/", dst)
    assert r.returncode == 0, r.stderr
    bid = board_id(server, "Mirror")
    assert sorted(p["title"] for p in server.state()["pins"] if p["board_id"] == bid) == \
        ["kept", "pic0", "pic2", "pic4"]
    assert sorted(os.listdir(m.path("boards", "Mirror"))) == \
        [".board.json", "A section"] + sorted(f"pic{i}{e}" for i in (0, 2, 4)
                                              for e in (".jpg", ".json"))


def test_given_names_stay_across_remounts_and_a_second_copy_makes_no_second_pin(fake, mount,
                                                                                tmp_path):
    server = fake(SEED)
    m = mount(server)
    m.expect_log(r"cannot replace a pin's image")
    os.mkdir(m.path("boards", "Names"))
    names = ["X.png", "IMG_0001.JPG", "photo.jpeg"]
    for n in names:
        (tmp_path / n).write_bytes(jpeg())
        assert sh("cp", str(tmp_path / n), str(m.path("boards", "Names"))).returncode == 0
    want = sorted([".board.json"] + names + [n.rsplit(".", 1)[0] + ".json" for n in names])
    assert sorted(os.listdir(m.path("boards", "Names"))) == want
    m = remount(mount, server, m)
    m.expect_log(r"cannot replace a pin's image")
    assert sorted(os.listdir(m.path("boards", "Names"))) == want
    r = sh("cp", str(tmp_path / "X.png"), str(m.path("boards", "Names")))
    assert r.returncode != 0
    bid = board_id(server, "Names")
    assert len([p for p in server.state()["pins"] if p["board_id"] == bid]) == 3


def test_mv_of_the_extension_alone_renames_the_file(fake, mount, tmp_path):
    server = fake(SEED)
    m = mount(server)
    os.mkdir(m.path("boards", "Ext"))
    d = m.path("boards", "Ext")
    (d / "x.jpg").write_bytes(jpeg())
    server.reset_counts()
    os.rename(d / "x.jpg", d / "x.png")
    assert not [k for k in server.counts() if not k.startswith("GET ")]
    assert sorted(os.listdir(d)) == [".board.json", "x.json", "x.png"]
    m = remount(mount, server, m)
    assert sorted(os.listdir(m.path("boards", "Ext"))) == [".board.json", "x.json", "x.png"]
    [pin] = pins_titled(server, "x")
    assert pin["board_id"] == board_id(server, "Ext")


def as_nobody(*cmd):
    return sh("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd)


def test_secret_boards_and_stats_are_the_owners_alone_with_allow_other(fake, mount):
    server = fake(SEED)
    m = mount(server, opts=("allow_other",))
    os.chmod(m.dir, 0o755)
    secret = next(b for b in server.state()["boards"] if b["privacy"] == "SECRET")
    public = next(b for b in server.state()["boards"] if b["privacy"] == "PUBLIC")
    sdir = m.path("boards", secret["name"].replace("/", "／"))
    pdir = m.path("boards", public["name"].replace("/", "／"))
    assert os.stat(sdir).st_mode & 0o777 == 0o700
    side = next(p for p in sdir.iterdir() if p.suffix == ".json" and p.name != ".board.json")
    assert os.stat(side).st_mode & 0o777 == 0o600
    assert os.stat(m.path(".pinfs", "stats")).st_mode & 0o777 == 0o400
    # Another local user: the public board reads, the secret one and the stats do not.
    pside = next(p for p in pdir.iterdir() if p.suffix == ".json" and p.name != ".board.json")
    r = as_nobody("cat", str(pside))
    assert r.returncode == 0 and json.loads(r.stdout)["board_id"] == public["id"]
    for path in (side, sdir / ".board.json", m.path(".pinfs", "stats")):
        r = as_nobody("cat", str(path))
        assert r.returncode != 0 and "Permission denied" in r.stderr, path
    r = as_nobody("ls", str(sdir))
    assert r.returncode != 0 and "Permission denied" in r.stderr
    # The owner reads everything as before.
    assert json.loads(side.read_text())["board_id"] == secret["id"]


def test_a_descriptor_closed_by_two_processes_at_once_makes_one_pin(acct):
    """A forked child's copy of the descriptor and its parent's, closed at once: one close
    commits, the other hears the same outcome; 20 rounds, one pin each."""
    server, m, _ = acct
    os.mkdir(m.path("boards", "Forked"))
    data = jpeg(size=(90, 70))
    for rnd in range(20):
        fd = os.open(m.path("boards", "Forked", f"f{rnd}.jpg"), os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, data)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: wait for the word, close its copy, report what close said
            os.read(r, 1)
            try:
                os.close(fd)
                os._exit(0)
            except OSError:
                os._exit(1)
        os.write(w, b"x")
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        os.close(r)
        os.close(w)
        assert os.waitstatus_to_exitcode(status) == 0
        assert len(pins_titled(server, f"f{rnd}")) == 1, rnd


def test_every_close_of_a_failed_edit_hears_the_failure(acct, tmp_path):
    server, m, _ = acct
    m.expect_log(r"PATCH /pins/\d+: HTTP 500|PATCH")
    side = first_sidecar(m)
    doc = json.loads(side.read_text())
    doc["description"] = "never saved"
    server.fault(route="PATCH /v5/pins/{pin_id}", action="status", status=500, count=10)
    fd = os.open(side, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, json.dumps(doc).encode())
    other = os.dup(fd)
    expect_errno(errno.EIO, os.close, other)
    expect_errno(errno.EIO, os.close, fd)
    assert held(server, doc["id"])["description"] != "never saved"
