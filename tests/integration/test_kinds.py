"""Every kind of pin a real account holds: image, video (with and without its video_url),
carousels of images, of videos and of both. Each test mounts the sample account, which seeds
every kind, and checks what a user would: the names, the bytes (equal to the server's), the
sidecars, the sizes, what mv, rm and writes of each file do, and the requests it all costs."""

import errno
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from naming import best_image, image_ext, pin_files


def pick(images):
    """The URL of the image pinfs shows of an `images` map."""
    img = best_image({"media": {"images": images or {}}})
    return img["url"] if img else None


def names_for(stem, pin):
    """The file names a pin shows, with the URL each reads from."""
    urls, items = pin_files(pin)
    out = []
    for i, url in enumerate(urls):
        if i == 0 or not items:
            out.append((stem + image_ext(url), url))
        else:
            out.append((f"{stem} [{i + 1}]{image_ext(url)}", url))
    return out


def sidecars(m):
    """Every pin's sidecar under boards/: pin id -> (folder, stem, parsed sidecar)."""
    found = {}
    for folder, _, names in os.walk(m.path("boards")):
        for n in names:
            if n.endswith(".json") and n != ".board.json":
                p = Path(folder) / n
                j = json.loads(p.read_text())
                found[j["id"]] = (Path(folder), n[:-5], j)
    return found


def kinds(state):
    return {p["id"]: p for p in state["pins"]}


@pytest.fixture
def sample(fake, mount):
    server = fake("sample")
    return server, mount(server)


def test_every_kind_shows_its_files_with_the_servers_bytes(sample):
    server, m = sample
    pins = kinds(server.state())
    seen = sidecars(m)
    assert set(seen) == set(pins)
    by_kind = {}
    for pid, (folder, stem, side) in seen.items():
        pin = pins[pid]
        kind = (pin.get("media") or {}).get("media_type", "image")
        by_kind[kind] = by_kind.get(kind, 0) + 1
        expected = names_for(stem, pin)
        listed = set(os.listdir(folder))
        for name, url in expected:
            assert name in listed, (kind, name, sorted(listed))
            assert (folder / name).read_bytes() == server.fetch(url), (kind, name)
        assert side["media_type"] == kind
    # The sample holds every kind.
    assert {"image", "video", "multiple_images", "multiple_videos", "multiple_mixed"} <= set(by_kind)


def test_sidecars_show_each_kinds_facts(sample):
    server, m = sample
    pins = kinds(server.state())
    checked = set()
    for pid, (folder, stem, side) in sidecars(m).items():
        media = pins[pid].get("media") or {}
        kind = media.get("media_type")
        if kind == "video":
            for key in ("video_url", "duration", "width", "height"):
                assert side[key] == media.get(key), key
            assert ("no_video" in side) == (not media.get("video_url"))
            checked.add("video" if media.get("video_url") else "video without url")
        elif kind and kind.startswith("multiple_"):
            items = side["items"]
            assert len(items) == len(media["items"])
            for got, item in zip(items, media["items"]):
                assert got["type"] == item.get("item_type", "image")
                for key in ("title", "description", "link"):
                    assert got[key] == item.get(key)
                if got["type"] == "video":
                    assert got["video_url"] == item.get("video_url")
                    assert got["cover_image_url"] == item.get("cover_image_url")
                else:
                    assert got["image_url"] == pick(item.get("images"))
            checked.add(kind)
    assert checked >= {"video", "video without url", "multiple_images", "multiple_mixed"}


def test_sizes_are_every_files_length_learnt_by_one_sweep(sample):
    server, m = sample
    pins = kinds(server.state())
    side = sidecars(m)
    folder = next(f for f, _, j in side.values()
                  if (pins[j["id"]].get("media") or {}).get("media_type", "image") != "image")
    server.reset_counts()
    listing = subprocess.run(["ls", "-l", str(folder)], capture_output=True, text=True, check=True)
    assert listing.returncode == 0
    files = 0
    for pid, (f, stem, _) in side.items():
        if f != folder:
            continue
        for name, url in names_for(stem, pins[pid]):
            assert os.stat(f / name).st_size == len(server.fetch(url)), name
            files += 1
    counts = server.counts()
    heads = sum(v for k, v in counts.items() if k.startswith("HEAD "))
    gets = sum(v for k, v in counts.items() if k.startswith("GET /v5"))
    assert heads == files  # one HEAD per file, main ones and those beside them alike
    assert gets == 0


def test_find_and_sidecars_send_no_image_request(sample):
    server, m = sample
    server.reset_counts()
    subprocess.run(["find", str(m.dir / "boards"), "-name", "*.json"], check=True,
                   capture_output=True)
    for f, stem, _ in sidecars(m).values():
        (f / (stem + ".json")).read_bytes()
    counts = server.counts()
    assert not any(k.startswith(("HEAD ", "GET /img", "GET /vid")) for k in counts), counts


def a_pin(server, m, kind, with_url=True, alone=True):
    """A pin of that kind: (id, folder, stem, its files). alone: none of its folder's other
    pins is named like one of its items (the sample seeds one that is, on purpose)."""
    pins = kinds(server.state())
    side = sidecars(m)
    for pid, (folder, stem, _) in sorted(side.items()):
        media = pins[pid].get("media") or {}
        if media.get("media_type") != kind:
            continue
        if kind == "video" and bool(media.get("video_url")) != with_url:
            continue
        if alone and any(f == folder and s.startswith(stem + " [") for f, s, _ in side.values()):
            continue
        return pid, folder, stem, names_for(stem, pins[pid])
    raise AssertionError(f"no {kind} pin in the sample")


def test_items_and_covers_are_read_only_and_go_with_their_pin(sample):
    server, m = sample
    m.expect_log(r"goes with its pin|cannot replace a pin's cover or item|is read-only")
    pid, folder, stem, files = a_pin(server, m, "multiple_images")
    item = folder / files[1][0]
    assert (os.stat(item).st_mode & 0o777) == 0o444
    server.reset_counts()
    for attempt in (lambda: os.unlink(item),
                    lambda: os.rename(item, folder / "elsewhere.jpg"),
                    lambda: open(item, "r+b"),
                    lambda: os.setxattr(item, "user.pinterest.title", b"x")):
        with pytest.raises(OSError) as e:
            attempt()
        assert e.value.errno == errno.EPERM
    assert not any(k.startswith(("PATCH", "DELETE", "POST /v5")) for k in server.counts())
    assert item.exists()
    # The main file's mv retitles the whole pin: its items follow the new name.
    os.rename(folder / files[0][0], folder / ("Renamed" + image_ext(files[0][1])))
    listed = os.listdir(folder)  # the kernel may keep the old name's lookup for a second
    assert f"Renamed [2]{image_ext(files[1][1])}" in listed and item.name not in listed
    assert kinds(server.state())[pid]["title"] == "Renamed"
    # rm of the main file deletes the pin; its items then go quietly, as rm -r needs.
    vid, vfolder, vstem, vfiles = a_pin(server, m, "video")
    os.unlink(vfolder / vfiles[0][0])
    os.unlink(vfolder / vfiles[1][0])  # the cover: quietly gone with its pin
    os.unlink(vfolder / (vstem + ".json"))
    assert vid not in kinds(server.state())
    assert vfiles[1][0] not in os.listdir(vfolder)


def test_rm_r_of_a_folder_of_carousels_prints_nothing(sample):
    server, m = sample
    pid, folder, stem, files = a_pin(server, m, "multiple_mixed")
    board_id = kinds(server.state())[pid]["board_id"]
    board = folder if folder.parent == m.path("boards") else folder.parent
    r = subprocess.run(["rm", "-r", str(board)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    state = server.state()
    assert pid not in kinds(state)
    assert board_id not in [b["id"] for b in state["boards"]]


def test_video_without_url_shows_its_cover_and_says_why(sample):
    server, m = sample
    pid, folder, stem, files = a_pin(server, m, "video", with_url=False)
    assert len(files) == 1 and files[0][0].endswith((".jpg", ".png"))
    assert not (folder / (stem + ".mp4")).exists()
    side = json.loads((folder / (stem + ".json")).read_text())
    assert side["video_url"] is None and "video_url" in side["no_video"]


def test_xattrs_and_links_cover_every_kind(sample):
    server, m = sample
    for kind in ("video", "multiple_images", "multiple_mixed"):
        pid, folder, stem, files = a_pin(server, m, kind)
        for name, _ in files:
            assert os.getxattr(folder / name, "user.pinterest.media_type").decode() == kind
            assert os.getxattr(folder / name, "user.pinterest.id").decode() == pid
        # pins/ links to the main file.
        links = [os.readlink(m.path("pins", n)) for n in os.listdir(m.path("pins"))]
        assert any(link.endswith("/" + files[0][0]) for link in links), files[0][0]


def test_editing_a_carousels_sidecar_works_as_for_an_image(sample):
    server, m = sample
    for kind in ("video", "multiple_mixed"):
        pid, folder, stem, files = a_pin(server, m, kind)
        side = folder / (stem + ".json")
        j = json.loads(side.read_text())
        j["description"] = f"edited {kind}"
        side.write_text(json.dumps(j, indent=2, ensure_ascii=False) + "\n")
        assert kinds(server.state())[pid]["description"] == f"edited {kind}"


def test_a_pin_titled_like_a_carousels_item_stays_reachable(sample):
    server, m = sample
    pid, folder, stem, files = a_pin(server, m, "multiple_images")
    pins = kinds(server.state())
    board_id = pins[pid]["board_id"]
    section = pins[pid].get("board_section_id")
    body = {"board_id": board_id, "title": f"{stem} [2]"}
    if section:
        body["section_id"] = section
    newer = server.admin("POST", "pins", body)
    own = f"{stem} [2] {{{newer['id']}}}"
    os.kill(m.proc.pid, signal.SIGHUP)  # list it now
    deadline = time.time() + 10
    while own + ".json" not in os.listdir(folder) and time.time() < deadline:
        time.sleep(0.1)
    listed = os.listdir(folder)
    # The carousel is older: it keeps "X [2]" for its item, the new pin is suffixed.
    assert files[1][0] in listed
    assert (folder / files[1][0]).read_bytes() == server.fetch(files[1][1])
    assert own + ".json" in listed
    assert json.loads((folder / (own + ".json")).read_text())["id"] == newer["id"]


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_rm_glob_of_a_folder_with_carousels_prints_nothing(sample, shell):
    """The shell sorts "X [2].jpg" before "X.jpg": the item, met first, goes with its pin, which
    the same rm removes; nothing is left and nothing is printed."""
    server, m = sample
    pid, folder, stem, files = a_pin(server, m, "multiple_images")
    pins = kinds(server.state())
    in_folder = [i for i, (f, s, _) in sidecars(m).items() if f == folder and names_for(s, pins[i])]
    r = subprocess.run([shell, "-c", "rm -f -- *.jpg *.png *.mp4 2>&1; echo status=$?"],
                       cwd=folder, capture_output=True, text=True)
    assert "status=0" in r.stdout and "rm:" not in r.stdout, r.stdout
    left = kinds(server.state())
    assert not any(i in left for i in in_folder)
    assert not [n for n in os.listdir(folder) if not n.endswith(".json") and n != ".board.json"
                and not os.path.isdir(folder / n)]


def test_rm_of_an_item_alone_is_refused(sample):
    server, m = sample
    m.expect_log(r"goes with its pin")
    pid, folder, stem, files = a_pin(server, m, "multiple_images")
    r = subprocess.run(["rm", files[1][0]], cwd=folder, capture_output=True, text=True)
    assert r.returncode != 0 and "Operation not permitted" in r.stderr
    assert pid in kinds(server.state())
    assert (folder / files[1][0]).exists()
