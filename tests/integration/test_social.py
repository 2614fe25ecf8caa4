"""pins/, search/, followers/ and following/: what they show, what they cost, what they refuse,
and the board suggestions computed for a pin."""

import errno
import json
import math
import os
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from naming import age_key, assign, best_image, expected_tree
from pictures import png

EXTS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".json")


def links(folder):
    """{name: target} of the symlinks in folder (nothing else may be there)."""
    found = {}
    for name in os.listdir(folder):
        assert os.path.islink(folder / name), name
        found[name] = os.readlink(folder / name)
    return found


def split_ext(name):
    for ext in EXTS:
        if name.lower().endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)], name[-len(ext):]
    return name, ""


def pin_places(state):
    """{pin id: path of its image (its JSON without one) from the mount's root}."""
    places = {}
    for path, (kind, pin) in expected_tree(state).items():
        if kind == "image" or (kind == "json" and pin["id"] not in places):
            places[pin["id"]] = path
    return places


def expected_links(state, pins, up):
    """{link name: target} for pins: named like their file under boards/; where two names
    meet, the older pin keeps the plain one and the others get " {PINID}"."""
    places = pin_places(state)
    known = sorted((p for p in pins if p["id"] in places), key=age_key)
    parts = {p["id"]: split_ext(os.path.basename(places[p["id"]])) for p in known}
    objs = [{"id": p["id"], "title": parts[p["id"]][0]} for p in known]
    names = assign(objs, "title", 4)
    return {names[p["id"]] + parts[p["id"]][1]: up + places[p["id"]] for p in known}


def walk_api(server, path):
    """Every item of a listing, following bookmarks as a client would."""
    items, bookmark = [], None
    while True:
        sep = "&" if "?" in path else "?"
        page = server.v5("GET", path + (f"{sep}bookmark={bookmark}" if bookmark else ""))
        items += page["items"]
        bookmark = page.get("bookmark")
        if not bookmark:
            return items


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, e.value


def by_route(server, route):
    return server.counts().get(route, 0)


@pytest.fixture
def sample(fake, mount):
    server = fake("sample")
    return server, mount(server)


# ----- pins/ -------------------------------------------------------------------------------
def test_pins_links_every_pin_to_its_place(fake, mount):
    server = fake("boards=4,pins=60,sections=3")
    m = mount(server)
    state = server.state()
    got = links(m.path("pins"))
    assert len(got) == len(state["pins"])
    assert got == expected_links(state, state["pins"], "../")
    for name, target in got.items():
        assert not os.path.isabs(target) and target.startswith("../boards/")
        assert m.path("pins", name).exists(), f"{name} -> {target} dangles"


def test_reading_through_a_pin_link_gives_the_image(sample):
    server, m = sample
    state = server.state()
    places = pin_places(state)
    pins = {p["id"]: p for p in state["pins"]}
    by_target = {t: n for n, t in links(m.path("pins")).items()}
    # Pictures: a carousel's or a video's link need not lead to a single picture.
    pictures = [(i, place) for i, place in places.items() if pins[i]["media"]["media_type"] == "image"]
    for pin_id, place in pictures[:5]:
        name = by_target["../" + place]
        data = m.path("pins", name).read_bytes()
        assert data == server.fetch(best_image(pins[pin_id])["url"])
        assert os.stat(m.path("pins", name)).st_size == len(data)


def test_pins_from_two_boards_with_one_name(fake, mount):
    server = fake("sample")
    state = server.state()
    tart = next(p for p in state["pins"] if p["title"] == "Lemon tart")
    travel = next(b for b in state["boards"] if b["name"] == "Travel")
    copy = server.v5("POST", f"/pins/{tart['id']}/save", {"board_id": travel["id"]})
    m = mount(server)
    got = links(m.path("pins"))
    # The older keeps the plain name; the copy gets its id before the extension.
    assert got["Lemon tart.jpg"] == "../boards/Recipes/Desserts/Lemon tart.jpg"
    ext = os.path.splitext(got["Lemon tart.jpg"])[1]
    assert got[f"Lemon tart {{{copy['id']}}}{ext}"] == f"../boards/Travel/Lemon tart{ext}"
    assert got == expected_links(server.state(), server.state()["pins"], "../")


def test_ls_pins_costs_pages_and_board_listings_only(fake, mount):
    server = fake("boards=3,pins=600,sections=2")
    m = mount(server)
    state = server.state()
    server.reset_counts()
    names = os.listdir(m.path("pins"))
    assert len(names) == len(state["pins"])
    for name in names:
        os.readlink(m.path("pins", name))
        os.lstat(m.path("pins", name))
    counts = server.counts()
    per_board = {}
    for p in state["pins"]:
        per_board[p["board_id"]] = per_board.get(p["board_id"], 0) + 1
    assert counts.get("GET /v5/pins") == math.ceil(len(state["pins"]) / 250)
    assert counts.get("GET /v5/boards/{board_id}/pins") == \
        sum(math.ceil(n / 250) for n in per_board.values())
    assert "GET /v5/pins/{pin_id}" not in counts and "HEAD /img" not in counts
    assert counts.get("GET /v5/boards", 0) <= 1
    # Within the TTL, the same again sends nothing.
    server.reset_counts()
    assert sorted(os.listdir(m.path("pins"))) == sorted(names)
    assert server.counts() == {}


def test_pins_and_searches_show_changes_made_through_the_mount(sample):
    server, m = sample
    travel = m.path("boards", "Travel")
    assert links(m.path("pins"))["Kyoto in autumn.jpg"] == "../boards/Travel/Kyoto in autumn.jpg"
    # The search finds every pin that says kyoto (the sample's carousel "Kyoto temple walk" too).
    found = links(m.path("search", "pins", "kyoto"))
    assert found["Kyoto in autumn.jpg"] == "../../../boards/Travel/Kyoto in autumn.jpg"
    assert found == expected_links(server.state(), walk_api(server, "/search/pins?query=kyoto"), "../../../")
    os.rename(travel / "Kyoto in autumn.jpg", travel / "Kyoto trip.jpg")
    os.unlink(travel / "Lisbon tram 28.jpg")
    got = links(m.path("pins"))
    assert got["Kyoto trip.jpg"] == "../boards/Travel/Kyoto trip.jpg"
    assert "Kyoto in autumn.jpg" not in got and "Lisbon tram 28.jpg" not in got
    assert got == expected_links(server.state(), server.state()["pins"], "../")
    found = links(m.path("search", "pins", "kyoto"))
    assert found["Kyoto trip.jpg"] == "../../../boards/Travel/Kyoto trip.jpg"
    assert "Kyoto in autumn.jpg" not in found
    assert found == expected_links(server.state(), walk_api(server, "/search/pins?query=kyoto"), "../../../")


def test_pins_follow_a_pin_whose_extension_alone_is_renamed(sample):
    """mv X.png X.PNG sends nothing (the extension is the file's, not the pin's) but moves the
    pin's file: pins/, kept while the version of my pins holds, links to the new name at once,
    well within the TTL."""
    server, m = sample
    os.mkdir(m.path("boards", "Shots"))
    shots = m.path("boards", "Shots")
    (shots / "X.png").write_bytes(png())
    assert links(m.path("pins"))["X.png"] == "../boards/Shots/X.png"
    server.reset_counts()
    os.rename(shots / "X.png", shots / "X.PNG")
    assert not [k for k in server.counts() if not k.startswith("GET ")]
    got = links(m.path("pins"))
    assert "X.png" not in got
    assert got["X.PNG"] == "../boards/Shots/X.PNG"
    assert os.path.exists(m.path("pins", "X.PNG")), "the link dangles"
    assert m.path("pins", "X.PNG").read_bytes() == (shots / "X.PNG").read_bytes()


def test_pins_are_kept_past_the_ttl_while_no_board_changed(fake, mount):
    server = fake("sample")
    m = mount(server, opts=("dir_cache_ttl=1",))
    before = links(m.path("pins"))
    time.sleep(1.2)
    server.reset_counts()
    assert links(m.path("pins")) == before
    counts = server.counts()
    assert "GET /v5/pins" not in counts, "no board changed: GET /boards said so"
    assert counts.get("GET /v5/boards") == 1
    kyoto = next(p for p in server.state()["pins"] if p["title"] == "Kyoto in autumn")
    server.v5("PATCH", f"/pins/{kyoto['id']}", {"title": "Kyoto, November"})
    time.sleep(1.2)
    server.reset_counts()
    got = links(m.path("pins"))
    assert got["Kyoto, November.jpg"] == "../boards/Travel/Kyoto, November.jpg"
    assert server.counts().get("GET /v5/pins") == 1


def test_pins_folder_is_read_only(sample):
    server, m = sample
    before = server.state()["pins"]
    name = sorted(os.listdir(m.path("pins")))[0]
    expect_errno(errno.EROFS, os.unlink, m.path("pins", name))
    expect_errno(errno.EROFS, os.mkdir, m.path("pins", "new"))
    expect_errno(errno.EROFS, open, m.path("pins", "new.jpg"), "wb")
    assert server.state()["pins"] == before


# ----- search/ ----------------------------------------------------------------------------
def test_search_folders_list_empty(sample):
    _, m = sample
    assert sorted(os.listdir(m.path("search"))) == ["boards", "pins"]
    assert os.listdir(m.path("search", "pins")) == []
    assert os.listdir(m.path("search", "boards")) == []


@pytest.mark.parametrize("query", ["lemon", "Kyoto autumn", "sorbet", "photo"])
def test_search_pins_shows_what_the_api_finds(sample, query):
    server, m = sample
    state = server.state()
    found = walk_api(server, "/search/pins?query=" + urllib.parse.quote(query))
    got = links(m.path("search", "pins", query))
    assert got == expected_links(state, found, "../../../")
    assert len(got) == len(found)
    for name in got:
        assert m.path("search", "pins", query, name).is_file()


def test_search_pins_walks_its_pages_without_page_size(fake, mount):
    server = fake("boards=2,pins=120,sections=0")
    m = mount(server)
    state = server.state()
    query = "a"   # in many descriptions: more than one page of 25
    found = walk_api(server, "/search/pins?query=" + query)
    assert len(found) > 25
    server.admin("POST", "counts/reset", {})
    got = links(m.path("search", "pins", query))
    assert got == expected_links(state, found, "../../../")
    searches = [r for r in server.admin("GET", "requests")["requests"]
                if r["route"] == "GET /v5/search/pins"]
    assert len(searches) == math.ceil(len(found) / 25)
    assert all("page_size" not in (r["query"] or "") for r in searches)


def test_search_boards_links_to_board_folders(sample):
    server, m = sample
    for query in ["garden", "places", "recipes"]:
        found = walk_api(server, "/search/boards?query=" + query)
        assert found
        got = links(m.path("search", "boards", query))
        assert got == {b["name"]: "../../../boards/" + b["name"] for b in found}
        for name in got:
            assert m.path("search", "boards", query, name).is_dir()


def test_empty_search_is_an_empty_folder(sample):
    server, m = sample
    assert walk_api(server, "/search/pins?query=zzzz") == []
    assert os.listdir(m.path("search", "pins", "zzzz")) == []
    assert os.listdir(m.path("search", "boards", "zzzz")) == []
    expect_errno(errno.ENOENT, os.stat, m.path("search", "pins", "zzzz", "x.jpg"))


def test_many_searches_at_once(sample):
    server, m = sample
    # More query folders than are kept at once, asked by many threads, with pins/ alongside.
    queries = [f"nothing{i}" for i in range(90)] + ["lemon", "photo", "kyoto"] * 10

    def look(q):
        return q, sorted(os.listdir(m.path("search", "pins", q)))

    pins = len(server.state()["pins"])
    sizes = {q: len(walk_api(server, "/search/pins?query=" + q)) for q in ("lemon", "photo", "kyoto")}
    assert sizes["lemon"] == 1 and sizes["photo"] == pins   # every sample pin's alt text says Photo
    with ThreadPoolExecutor(16) as pool:
        walks = [pool.submit(links, m.path("pins")) for _ in range(4)]
        found = list(pool.map(look, queries))
        assert all(len(w.result()) == pins for w in walks)
    for q, names in found:
        assert len(names) == sizes.get(q, 0), q


def test_search_results_are_kept_for_the_ttl(sample):
    server, m = sample
    os.listdir(m.path("search", "pins", "lemon"))
    server.reset_counts()
    os.listdir(m.path("search", "pins", "lemon"))
    os.readlink(m.path("search", "pins", "lemon", "Lemon tart.jpg"))
    assert by_route(server, "GET /v5/search/pins") == 0


# ----- followers/ and following/ ----------------------------------------------------------
def test_followers_and_following_users(sample):
    server, m = sample
    state = server.state()
    for folder, people in [("followers", state["followers"]),
                           ("following/users", state["following"])]:
        root = m.path(*folder.split("/"))
        assert sorted(os.listdir(root)) == sorted(p["username"] + ".json" for p in people)
        for p in people:
            assert json.loads((root / (p["username"] + ".json")).read_text()) == p


def test_following_interests(sample):
    server, m = sample
    interests = server.state()["interests"]
    root = m.path("following", "interests")
    assert sorted(os.listdir(root)) == sorted(i["name"] + ".json" for i in interests)
    for i in interests:
        assert json.loads((root / (i["name"] + ".json")).read_text()) == i
    assert by_route(server, "GET /v5/users/{username}/interests/follow") == 1


def test_following_boards_show_board_cover_and_thumbnails(sample):
    server, m = sample
    followed = server.state()["following_boards"]
    assert sorted(os.listdir(m.path("following", "boards"))) == \
        sorted({b["owner"]["username"] for b in followed})
    for b in followed:
        folder = m.path("following", "boards", b["owner"]["username"], b["name"])
        shown = json.loads((folder / ".board.json").read_text())
        assert shown["id"] == b["id"] and shown["name"] == b["name"]
        thumbs = b["media"]["pin_thumbnail_urls"]
        cover = b["media"]["image_cover_url"]
        want = {".board.json", "cover" + os.path.splitext(cover)[1]} | \
            {f"thumbnail-{i + 1}{os.path.splitext(u)[1]}" for i, u in enumerate(thumbs)}
        assert set(os.listdir(folder)) == want
        for name, url in [("cover" + os.path.splitext(cover)[1], cover)] + \
                [(f"thumbnail-{i + 1}{os.path.splitext(u)[1]}", u) for i, u in enumerate(thumbs)]:
            data = (folder / name).read_bytes()
            assert data == server.fetch(url), name
            assert os.stat(folder / name).st_size == len(data), name


def test_followed_board_sizes_cost_one_head_each(sample):
    server, m = sample
    b = server.state()["following_boards"][0]
    folder = m.path("following", "boards", b["owner"]["username"], b["name"])
    os.listdir(folder)
    server.reset_counts()
    sizes = {n: os.stat(folder / n).st_size for n in os.listdir(folder)}
    assert all(sizes.values())
    images = 1 + len(b["media"]["pin_thumbnail_urls"])
    # The first size asked learns the folder's sizes; the others are known by then. The
    # other followed board's images are in the same listing and learnt alongside.
    heads = by_route(server, "HEAD /img")
    assert images <= heads <= sum(1 + len(f["media"]["pin_thumbnail_urls"])
                                  for f in server.state()["following_boards"])
    server.reset_counts()
    for n in os.listdir(folder):
        os.stat(folder / n)
    assert by_route(server, "HEAD /img") == 0


def test_touch_follows_a_user(sample):
    server, m = sample
    path = m.path("following", "users", "design_daily.json")
    assert not path.exists()
    path.touch()
    assert "design_daily" in [p["username"] for p in server.state()["following"]]
    assert json.loads(path.read_text())["username"] == "design_daily"
    assert "design_daily.json" in os.listdir(m.path("following", "users"))
    assert by_route(server, "POST /v5/user_account/following/{username}") == 1


def test_touch_of_an_unknown_user_is_enoent(sample):
    server, m = sample
    m.expect_log(r"Pinterest knows no user nobody_here")
    expect_errno(errno.ENOENT, m.path("following", "users", "nobody_here.json").touch)
    assert "nobody_here" not in [p["username"] for p in server.state()["following"]]
    assert "pinfs: warning: /following/users/nobody_here.json: Pinterest knows no user" in m.log()


def test_unfollowing_is_not_supported(sample):
    server, m = sample
    before = server.state()["following"]
    m.expect_log(r"offers no way to unfollow a user")
    expect_errno(errno.ENOTSUP, os.unlink, m.path("following", "users", "nasa.json"))
    assert "/following/users/nasa.json: Pinterest's API v5 offers no way to unfollow a user" \
        in m.log()
    assert server.state()["following"] == before
    assert m.path("following", "users", "nasa.json").exists()


def test_following_or_unfollowing_boards_is_not_supported(sample):
    server, m = sample
    before = server.state()["following_boards"]
    b = before[0]
    owner = m.path("following", "boards", b["owner"]["username"])
    m.expect_log(r"offers no way to follow or unfollow a board")
    expect_errno(errno.ENOTSUP, os.mkdir, owner / "Another board")
    expect_errno(errno.ENOTSUP, os.rmdir, owner / b["name"])
    expect_errno(errno.ENOTSUP, os.unlink, owner / b["name"] / ".board.json")
    assert m.log().count("offers no way to follow or unfollow a board") == 3
    assert server.state()["following_boards"] == before


def test_other_writes_are_refused(sample):
    server, m = sample
    expect_errno(errno.EROFS, open, m.path("followers", "someone.json"), "w")
    expect_errno(errno.EACCES, open, m.path("followers", "ana_bakes.json"), "a")
    expect_errno(errno.EROFS, os.unlink, m.path("followers", "ana_bakes.json"))
    expect_errno(errno.EROFS, open, m.path("following", "interests", "Knitting.json"), "w")
    expect_errno(errno.EROFS, os.mkdir, m.path("search", "pins", "lemon", "x"))
    assert len(server.state()["followers"]) == 3


def test_listings_follow_remote_changes_after_the_ttl(fake, mount):
    server = fake("sample")
    m = mount(server, opts=("dir_cache_ttl=1",))
    users = m.path("following", "users")
    assert "pinterest.json" not in os.listdir(users)
    server.v5("POST", "/user_account/following/pinterest", {"auto_follow": False})
    time.sleep(1.2)
    assert "pinterest.json" in os.listdir(users)


def test_api_errors_are_errno_not_crashes(sample):
    server, m = sample
    m.expect_log(r"GET /user_account/followers.*HTTP 403")
    server.fault(route="GET /v5/user_account/followers", count=1,
                 action="status", status=403)
    expect_errno(errno.EPERM, os.listdir, m.path("followers"))
    assert len(os.listdir(m.path("followers"))) == 3


def test_me_json_is_the_whole_account(sample):
    server, m = sample
    assert json.loads(m.path("me.json").read_text()) == server.v5("GET", "/user_account")


# ----- board suggestions ------------------------------------------------------------------
def test_suggested_boards_rank_a_board_named_like_the_pin_first(fake, mount):
    server = fake("sample")
    server.v5("POST", "/boards", {"name": "Lemon tart ideas"})
    m = mount(server)
    image = m.path("boards", "Recipes", "Desserts", "Lemon tart.jpg")
    assert "user.pinterest.suggested_boards" in os.listxattr(image)
    server.reset_counts()
    ranked = os.getxattr(image, "user.pinterest.suggested_boards").decode().splitlines()
    assert ranked[0] == "Lemon tart ideas"
    assert sorted(ranked) == sorted(os.listdir(m.path("boards")))
    assert server.counts() == {}, "suggestions are computed locally"
    # A pin about travel puts Travel first.
    kyoto = m.path("boards", "Travel", "Kyoto in autumn.jpg")
    assert os.getxattr(kyoto, "user.pinterest.suggested_boards").decode().splitlines()[0] == \
        "Travel"
    # Only the image has it; it cannot be set.
    assert "user.pinterest.suggested_boards" not in \
        os.listxattr(m.path("boards", "Recipes", "Desserts", "Lemon tart.json"))
    m.expect_log(r"suggested_boards is read-only")
    expect_errno(errno.EPERM, os.setxattr, image, "user.pinterest.suggested_boards", b"x")
