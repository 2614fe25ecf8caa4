"""Tests of the fake Pinterest API v5 server (tests/fake_pinterest/server.py).

Run from the repository root: /usr/bin/python3 -m pytest tests/test_fake_server.py -q
"""

import base64
import datetime
import hashlib
import http.client
import io
import json
import os
import sys
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from PIL import Image

from fake_client import (FAKE_DIR, TOKEN, Fake, check_images, check_video, error_of, fake_media, first_board,
                         image_pin, media_status, mp4_like, multipart, path_of, png_bytes, refuses_arguments,
                         register_media, upload, upload_body, upload_fields, video_pin_body)

CLIENT = ("fake-client", "fake-secret")
PNG_DECODE = {"image/png": "PNG", "image/jpeg": "JPEG"}


# ----- servers ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fake():
    server = Fake("--seed", "boards=4,pins=100,sections=3")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def limited():
    """Rate limited, and with the spec hidden so validation is off."""
    server = Fake("--seed", "sample", "--rate-limit", "5", env=dict(os.environ, PINFS_OPENAPI="/nonexistent"))
    yield server
    server.stop()


# ----- auth and basics ------------------------------------------------------------------------
def spec_present():
    sys.path.insert(0, str(FAKE_DIR))
    try:
        import openapi_check
    finally:
        sys.path.remove(str(FAKE_DIR))
    return openapi_check.find_spec() is not None


needs_spec = pytest.mark.skipif(not spec_present(),
                                reason="Pinterest's OpenAPI description is not beside the project")


def test_auth_is_required(fake):
    error_of(fake.call("GET", "/v5/boards", token=None), 401, 2)
    error_of(fake.call("GET", "/v5/boards", token="wrong"), 401, 2)


@needs_spec
def test_unknown_routes_are_flagged(fake):
    with fake.deliberate_violations():
        assert fake.call("GET", "/v5/nothing/here")[0] == 404
        assert fake.violations()[0]["error"] == "no operation GET /nothing/here in the spec"


def test_account_shape(fake):
    me = fake.json("GET", "/v5/user_account")
    assert me["username"] == "pinfs_tester" and len(me["id"]) >= 17
    assert me["board_count"] == 4 and me["pin_count"] == 100
    assert me["follower_count"] == 5 and me["following_count"] == 3


def test_ids_and_timestamps(fake):
    pins = fake.all_items("/v5/pins")
    assert len(pins) == 100 and len({p["id"] for p in pins}) == 100
    for pin in pins:
        assert pin["id"].isdigit() and int(pin["id"]) > 2 ** 53
        time.strptime(pin["created_at"], "%Y-%m-%dT%H:%M:%S")
        if pin["media"]["media_type"] in ("image", "video"):
            assert set(pin["media"]["images"]) == {"150x150", "400x300", "600x", "1200x", "originals"}
        else:
            assert pin["media"]["items"] and "images" not in pin["media"]
    created = [p["created_at"] for p in pins]
    assert created == sorted(created, reverse=True), "pins come newest first"


def test_seed_titles_and_boards(fake):
    state = fake.state()
    first = state["boards"][0]["id"]
    titles = [p["title"] for p in state["pins"] if p["board_id"] == first and p["board_section_id"] is None]
    assert titles.count("Lemon tart") == 3 and titles.count("Untitled") == 2
    assert "" in titles and None in titles and "東京の夜景" in titles
    assert any("🌅" in (t or "") for t in titles) and any("/" in (t or "") for t in titles)
    assert any(t and len(t) == 100 for t in titles) and any((t or "").startswith(".") for t in titles)
    section_titles = [p["title"] for p in state["pins"] if p["board_section_id"]]
    assert section_titles.count("Mood board") == 2
    assert [b["privacy"] for b in state["boards"]].count("SECRET") == 1
    assert any("/" in b["name"] for b in state["boards"])
    assert sum(len(v) for v in state["sections"].values()) == 3
    assert len(state["followers"]) == 5 and len(state["following"]) == 3
    assert len(state["following_boards"]) == 2 and len(state["interests"]) == 3


# ----- pagination -----------------------------------------------------------------------------
def test_page_size_bounds(fake):
    with fake.deliberate_violations():
        error_of(fake.call("GET", "/v5/pins?page_size=0"), 400, 1)
        error_of(fake.call("GET", "/v5/pins?page_size=251"), 400, 1)
        error_of(fake.call("GET", "/v5/pins?page_size=abc"), 400, 1)
    assert len(fake.json("GET", "/v5/pins?page_size=250")["items"]) == 100
    assert len(fake.json("GET", "/v5/pins")["items"]) == 25   # the default


def test_bookmarks_walk_and_end(fake):
    first = fake.json("GET", "/v5/pins?page_size=7")
    assert len(first["items"]) == 7 and isinstance(first["bookmark"], str)
    walked = fake.all_items("/v5/pins", page_size=7)
    assert [p["id"] for p in walked[:7]] == [p["id"] for p in first["items"]]
    assert len({p["id"] for p in walked}) == 100
    last = fake.json("GET", "/v5/pins?page_size=250")
    assert last["bookmark"] is None
    # A bookmark belongs to its query: another listing refuses it.
    board = first_board(fake)
    error_of(fake.call("GET", f"/v5/boards/{board['id']}/pins?bookmark={first['bookmark']}"), 400, 1)
    error_of(fake.call("GET", "/v5/pins?bookmark=garbage!"), 400, 1)


def test_board_listing_includes_section_pins(fake):
    state = fake.state()
    board_id = next(b for b, secs in state["sections"].items() if secs)
    listed = fake.all_items(f"/v5/boards/{board_id}/pins", page_size=5)
    in_sections = [p for p in listed if p["board_section_id"]]
    assert in_sections and len(listed) == next(b["pin_count"] for b in state["boards"] if b["id"] == board_id)
    section = state["sections"][board_id][0]
    section_pins = fake.all_items(f"/v5/boards/{board_id}/sections/{section['id']}/pins", page_size=2)
    assert section_pins and all(p["board_section_id"] == section["id"] for p in section_pins)
    assert {p["id"] for p in section_pins} <= {p["id"] for p in in_sections}


# ----- boards and sections --------------------------------------------------------------------
def test_board_create_edit_delete(fake):
    board = fake.json("POST", "/v5/boards", {"name": "Scratch", "description": "tmp"}, expect=201)
    assert board["privacy"] == "PUBLIC" and board["pin_count"] == 0
    error_of(fake.call("POST", "/v5/boards", {"name": "scratch"}), 400, 1)   # used, ignoring case
    error_of(fake.call("POST", "/v5/boards", {"name": "  "}), 400, 1)
    path = f"/v5/boards/{board['id']}"
    assert fake.json("GET", path)["name"] == "Scratch"
    edited = fake.json("PATCH", path, {"name": "Scratch 2", "privacy": "SECRET", "description": "d"})
    assert (edited["name"], edited["privacy"], edited["description"]) == ("Scratch 2", "SECRET", "d")
    error_of(fake.call("PATCH", path, {"pin_count": 3}), 400, 1)           # read-only field
    error_of(fake.call("PATCH", path, {"name": first_board(fake)["name"]}), 400, 1)
    status, headers, data = fake.call("DELETE", path)
    assert status == 204 and data == b"" and "content-length" not in headers
    error_of(fake.call("GET", path), 404, 40)
    error_of(fake.call("DELETE", path), 404, 40)


def test_sections_create_edit_delete(fake):
    board = fake.json("POST", "/v5/boards", {"name": "Sectioned"}, expect=201)
    base = f"/v5/boards/{board['id']}/sections"
    section = fake.json("POST", base, {"name": "Part one"}, expect=201)
    assert section["id"].isdigit() and section["name"] == "Part one"
    with fake.deliberate_violations():
        error_of(fake.call("POST", base, {"name": "x" * 181}), 400, 400)
        error_of(fake.call("POST", base, {"name": ""}), 400, 400)
    assert fake.call("POST", base, {"name": "Part one"})[0] == 409
    renamed = fake.json("PATCH", f"{base}/{section['id']}", {"name": "Part 1"})
    assert renamed["name"] == "Part 1"
    assert [s["name"] for s in fake.json("GET", base)["items"]] == ["Part 1"]
    status, _, data = fake.call("DELETE", f"{base}/{section['id']}")
    assert status == 204 and data == b""
    error_of(fake.call("PATCH", f"{base}/{section['id']}", {"name": "again"}), 404, 2031)
    error_of(fake.call("GET", f"{base}/{section['id']}/pins"), 404, 2031)
    assert fake.call("DELETE", f"/v5/boards/{board['id']}")[0] == 204


def test_deleting_a_board_deletes_its_pins(fake):
    board = fake.json("POST", "/v5/boards", {"name": "Doomed"}, expect=201)
    section = fake.json("POST", f"/v5/boards/{board['id']}/sections", {"name": "S"}, expect=201)
    pin = fake.json("POST", "/v5/pins", upload_body(board["id"], png_bytes(), board_section_id=section["id"]),
                    expect=201)
    assert fake.call("DELETE", f"/v5/boards/{board['id']}")[0] == 204
    error_of(fake.call("GET", f"/v5/pins/{pin['id']}"), 404, 50)
    assert fake.call("GET", path_of(pin["media"]["images"]["originals"]["url"]))[0] == 404


# ----- pins -------------------------------------------------------------------------------------
def test_upload_round_trip_and_edits(fake):
    boards = fake.json("GET", "/v5/boards")["items"]
    board, other = boards[0], boards[1]
    data = png_bytes((64, 48))
    pin = fake.json("POST", "/v5/pins", upload_body(board["id"], data, title="Red square",
                                                    description="d", link="https://example.com/r",
                                                    alt_text="a red rectangle"), expect=201)
    assert pin["title"] == "Red square" and pin["board_section_id"] is None
    images = pin["media"]["images"]
    assert (images["originals"]["width"], images["originals"]["height"]) == (64, 48)
    status, headers, got = fake.call("GET", path_of(images["originals"]["url"]))
    assert status == 200 and got == data and headers["content-type"] == "image/png"
    thumb = Image.open(io.BytesIO(fake.call("GET", path_of(images["150x150"]["url"]))[2]))
    assert thumb.format == "PNG" and thumb.size == (150, 150)
    after = fake.json("GET", f"/v5/boards/{board['id']}")
    assert after["pin_count"] == board["pin_count"] + 1
    assert after["board_pins_modified_at"] > board["board_pins_modified_at"]

    path = f"/v5/pins/{pin['id']}"
    assert fake.json("PATCH", path, {"title": "Renamed", "alt_text": None})["title"] == "Renamed"
    assert fake.json("GET", path)["alt_text"] is None
    section_id = fake.state()["sections"][board["id"]][0]["id"]
    assert fake.json("PATCH", path, {"board_section_id": section_id})["board_section_id"] == section_id
    assert fake.json("PATCH", path, {"board_section_id": None})["board_section_id"] is None
    error_of(fake.call("PATCH", path, {"board_id": other["id"], "board_section_id": section_id}), 404, 2031)
    moved = fake.json("PATCH", path, {"board_id": other["id"]})
    assert moved["board_id"] == other["id"]
    assert fake.json("GET", f"/v5/boards/{other['id']}")["pin_count"] == other["pin_count"] + 1
    error_of(fake.call("PATCH", path, {"dominant_color": "#000000"}), 400, 1)
    error_of(fake.call("PATCH", path, {"board_id": "123"}), 404, 40)
    status, _, body = fake.call("DELETE", path)
    assert status == 204 and body == b""
    error_of(fake.call("GET", path), 404, 50)
    error_of(fake.call("DELETE", path), 404, 50)


def test_bad_uploads(fake):
    board_id = first_board(fake)["id"]
    good = png_bytes()
    error_of(fake.call("POST", "/v5/pins", upload_body(board_id, b"not an image at all")), 400, 235)
    error_of(fake.call("POST", "/v5/pins", upload_body(board_id, good, "image/jpeg")), 400, 235)
    error_of(fake.call("POST", "/v5/pins", upload_body(board_id, png_bytes((5, 5)))), 400, 233)
    error_of(fake.call("POST", "/v5/pins", upload_body("1234567890123456789", good)), 404, 40)
    error_of(fake.call("POST", "/v5/pins", upload_body(board_id, good, board_section_id="99")), 404, 2031)
    with fake.deliberate_violations():
        wrapped = upload_body(board_id, good)
        wrapped["media_source"]["data"] = base64.encodebytes(good).decode()       # has newlines
        error_of(fake.call("POST", "/v5/pins", wrapped), 400, 235)
        prefixed = upload_body(board_id, good)
        prefixed["media_source"]["data"] = "data:image/png;base64," + prefixed["media_source"]["data"]
        error_of(fake.call("POST", "/v5/pins", prefixed), 400, 235)
        error_of(fake.call("POST", "/v5/pins", upload_body(board_id, good, title="t" * 101)), 400, 1)
        error_of(fake.call("POST", "/v5/pins", upload_body(board_id, good, description="d" * 801)), 400, 1)
        error_of(fake.call("POST", "/v5/pins", {"board_id": board_id}), 400, 1)


def test_save_pin_copies(fake):
    boards = fake.json("GET", "/v5/boards")["items"]
    source = image_pin(fake.json("GET", f"/v5/boards/{boards[0]['id']}/pins")["items"])
    copy = fake.json("POST", f"/v5/pins/{source['id']}/save", {"board_id": boards[2]["id"]}, expect=201)
    assert copy["id"] != source["id"] and copy["parent_pin_id"] == source["id"]
    assert copy["board_id"] == boards[2]["id"] and copy["title"] == source["title"]
    error_of(fake.call("POST", "/v5/pins/1/save", {"board_id": boards[2]["id"]}), 404, 50)
    assert fake.call("DELETE", f"/v5/pins/{copy['id']}")[0] == 204
    # image_url sources work for this server's own image URLs only (there is no internet).
    url = source["media"]["images"]["originals"]["url"]
    by_url = fake.json("POST", "/v5/pins", {"board_id": boards[2]["id"], "media_source": {
        "source_type": "image_url", "url": url}}, expect=201)
    assert fake.call("GET", path_of(by_url["media"]["images"]["originals"]["url"]))[2] == \
        fake.call("GET", path_of(url))[2]
    error_of(fake.call("POST", "/v5/pins", {"board_id": boards[2]["id"], "media_source": {
        "source_type": "image_url", "url": "https://example.com/x.jpg"}}), 400, 1)
    assert fake.call("DELETE", f"/v5/pins/{by_url['id']}")[0] == 204


# ----- images -----------------------------------------------------------------------------------
def test_images_get_head_range(fake):
    pin = image_pin(fake.json("GET", "/v5/pins")["items"])
    info = pin["media"]["images"]["originals"]
    url = path_of(info["url"])
    status, headers, data = fake.call("GET", url, token=None)
    assert status == 200 and int(headers["content-length"]) == len(data) > 5000
    img = Image.open(io.BytesIO(data))
    assert img.size == (info["width"], info["height"])
    assert PNG_DECODE[headers["content-type"]] == img.format
    status, headers, body = fake.call("HEAD", url)
    assert status == 200 and body == b"" and int(headers["content-length"]) == len(data)
    status, headers, part = fake.call("GET", url, headers={"Range": "bytes=10-109"})
    assert status == 206 and part == data[10:110]
    assert headers["content-range"] == f"bytes 10-109/{len(data)}"
    assert fake.call("GET", url, headers={"Range": "bytes=-10"})[2] == data[-10:]
    assert fake.call("GET", url, headers={"Range": f"bytes={len(data) - 5}-"})[2] == data[-5:]
    status, headers, _ = fake.call("GET", url, headers={"Range": f"bytes={len(data)}-"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(data)}"
    for key in ("150x150", "400x300", "600x", "1200x"):
        small = pin["media"]["images"][key]
        assert Image.open(io.BytesIO(fake.call("GET", path_of(small["url"]))[2])).size == \
            (small["width"], small["height"])
    assert fake.call("GET", "/img/originals/1.jpg")[0] == 404
    assert fake.call("GET", url.replace("originals", "999x"))[0] == 404


# ----- video media uploads ----------------------------------------------------------------------
def test_media_register_shape(fake):
    media = register_media(fake)
    assert media["media_id"].isdigit() and media["media_type"] == "video"
    assert media["upload_url"] == fake.base + "/_media_upload/"
    params = media["upload_parameters"]
    assert set(params) == {"Content-Type", "key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
                           "x-amz-security-token", "x-amz-signature"}
    assert params["Content-Type"] == "multipart/form-data" and params["key"].endswith(":" + media["media_id"])
    policy = json.loads(base64.b64decode(params["policy"]))
    assert {"key": params["key"]} in policy["conditions"]
    assert register_media(fake)["media_id"] != media["media_id"]
    assert fake.json("GET", f"/v5/media/{media['media_id']}") == {
        "media_id": media["media_id"], "media_type": "video", "status": "registered"}
    error_of(fake.call("GET", "/v5/media/123"), 404, 404)
    listed = fake.json("GET", "/v5/media?page_size=250")["items"]
    assert media["media_id"] in [m["media_id"] for m in listed]
    with fake.deliberate_violations():
        for body in ({"media_type": "image"}, {}, {"media_type": "video", "extra": 1}):
            error_of(fake.call("POST", "/v5/media", body), 400, 1)


def test_media_upload_poll_and_pin(fake):
    """A 50 MB upload, streamed to disk: processing once, then succeeded; one pin from it."""
    fake.json("POST", "/_fake/counts/reset")
    data = mp4_like(50 << 20)
    media = register_media(fake)
    media_id = media["media_id"]
    status, headers, body = upload(fake, media, data)
    assert status == 204 and body == b""
    assert [media_status(fake, media_id) for _ in range(3)] == ["processing", "succeeded", "succeeded"]
    record = fake_media(fake, media_id)
    assert record["size"] == len(data) and record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["uploads"] == 1 and record["refused_uploads"] == 0 and record["polls"] == 3
    # A second upload of the same media is refused, and the test can tell it was tried.
    status, headers, body = upload(fake, media, mp4_like(5000))
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and headers["content-type"] == "application/xml"
    assert fake_media(fake, media_id)["refused_uploads"] == 1
    log = [r for r in fake.json("GET", "/_fake/requests")["requests"] if r["route"] == "POST /_media_upload"]
    assert [(r["status"], r.get("refused")) for r in log] == [(204, None), (403, "second upload")]
    assert [r["media_id"] for r in log] == [media_id, media_id] and log[0]["bytes"] == len(data)

    board_id = first_board(fake)["id"]
    pin = fake.json("POST", "/v5/pins", video_pin_body(board_id, media_id, title="Clip") |
                    {"media_source": {"source_type": "video_id", "media_id": media_id,
                                      "cover_image_key_frame_time": 0}}, expect=201)
    assert pin["creative_type"] == "VIDEO" and pin["title"] == "Clip"
    shown = pin["media"]
    assert shown["media_type"] == "video" and set(shown["images"]) == {"150x150", "400x300", "600x", "1200x",
                                                                       "originals"}
    assert shown["duration"] > 0 and shown["width"] > 0 and shown["height"] > 0
    assert fake.call("GET", path_of(shown["cover_image_url"]))[0] == 200
    assert Image.open(io.BytesIO(fake.call("GET", path_of(shown["images"]["400x300"]["url"]))[2])).size == (400, 300)
    url = path_of(shown["video_url"])
    status, headers, got = fake.call("GET", url, token=None, timeout=60)
    assert status == 200 and headers["content-type"] == "video/mp4" and got == data
    status, headers, part = fake.call("GET", url, headers={"Range": "bytes=30000000-30000099"})
    assert status == 206 and part == data[30000000:30000100]
    assert headers["content-range"] == f"bytes 30000000-30000099/{len(data)}"
    assert fake_media(fake, media_id)["pin_id"] == pin["id"]
    with fake.deliberate_violations():   # the spec wants media_id digits: "x" is deliberately wrong
        error_of(fake.call("POST", "/v5/pins", video_pin_body(board_id, "x")), 400, 1)
    error = error_of(fake.call("POST", "/v5/pins", video_pin_body(board_id, media_id)), 400, 1)
    assert "already used" in error["message"]
    counts = fake.json("GET", "/_fake/counts")["counts"]
    assert counts["POST /v5/media"] == 1 and counts["POST /_media_upload"] == 2
    assert counts["GET /v5/media/{media_id}"] == 3 and counts["GET /vid"] == 2
    assert fake.call("DELETE", f"/v5/pins/{pin['id']}")[0] == 204
    assert fake.call("GET", url)[0] == 404


def test_media_upload_refusals(fake):
    media = register_media(fake)
    data = mp4_like(3000)

    def refused(status, code, **kw):
        got, headers, body = upload(fake, media, data, **kw)
        assert got == status and f"<Code>{code}</Code>".encode() in body, (got, body)

    refused(400, "InvalidArgument", headers={"Authorization": f"Bearer {TOKEN}"})   # token leak
    refused(403, "AccessDenied", fields=upload_fields(media, policy=None))
    refused(403, "AccessDenied", fields=upload_fields(media, **{"x-amz-date": "20200101T000000Z"}))
    refused(403, "SignatureDoesNotMatch", fields=upload_fields(media, **{"x-amz-signature": "0" * 64}))
    refused(403, "AccessDenied", fields=upload_fields(media, extra="1"))
    refused(403, "AccessDenied", fields=upload_fields(media, **{"Content-Type": "video/mp4"}))
    refused(403, "AccessDenied", file_at=2)                                     # the file is not last
    status, _, body = fake.call("POST", path_of(media["upload_url"]), data, headers={"Content-Type": "video/mp4"})
    assert status == 412 and b"PreconditionFailed" in body
    body, content_type = multipart(upload_fields(media), data)
    status, _, answer = fake.call("POST", path_of(media["upload_url"]), body[:len(body) // 2] + b"\r\n",
                                  headers={"Content-Type": content_type})
    assert status == 400 and b"MalformedPOSTRequest" in answer
    other = register_media(fake)   # another media's parameters do not fit this one's key
    refused(403, "AccessDenied", fields=upload_fields(media, key=other["upload_parameters"]["key"]))
    assert media_status(fake, media["media_id"]) == "registered"
    assert fake_media(fake, media["media_id"])["uploads"] == 0
    # The Content-Type field may be sent too (as upload_parameters lists it), and the connection
    # that carried the refusals still works.
    assert upload(fake, media, data, fields=upload_fields(media, **{"Content-Type": "multipart/form-data"}))[0] == 204
    assert fake.call("GET", "/_media_upload/")[0] == 405


def test_media_failed_stuck_and_not_ready(fake):
    board_id = first_board(fake)["id"]
    not_video = register_media(fake)
    assert upload(fake, not_video, png_bytes())[0] == 204
    assert [media_status(fake, not_video["media_id"]) for _ in range(2)] == ["processing", "failed"]
    assert "MP4" in fake_media(fake, not_video["media_id"])["failure"]
    error = error_of(fake.call("POST", "/v5/pins", video_pin_body(board_id, not_video["media_id"])), 400, 1)
    assert "failed" in error["message"]
    registered = register_media(fake)
    error_of(fake.call("POST", "/v5/pins", video_pin_body(board_id, registered["media_id"])), 400, 1)
    error_of(fake.call("POST", "/v5/pins", video_pin_body(board_id, "1234")), 400, 1)

    made_to_fail = register_media(fake)
    fake.json("POST", "/_fake/media/control", {"media_id": made_to_fail["media_id"], "outcome": "failed"})
    assert upload(fake, made_to_fail, mp4_like(4000))[0] == 204
    assert [media_status(fake, made_to_fail["media_id"]) for _ in range(2)] == ["processing", "failed"]

    stuck = register_media(fake)
    fake.json("POST", "/_fake/media/control", {"media_id": stuck["media_id"], "outcome": "processing"})
    assert upload(fake, stuck, mp4_like(4000))[0] == 204
    assert {media_status(fake, stuck["media_id"]) for _ in range(5)} == {"processing"}
    error_of(fake.call("POST", "/v5/pins", video_pin_body(board_id, stuck["media_id"])), 400, 1)
    fake.json("POST", "/_fake/media/control", {"media_id": stuck["media_id"], "outcome": "normal"})
    assert media_status(fake, stuck["media_id"]) == "succeeded"

    settings = fake.json("POST", "/_fake/media/settings", {"processing_polls": 3})
    try:
        assert settings == {"processing_polls": 3, "outcome": "normal"}
        slow = register_media(fake)
        assert upload(fake, slow, mp4_like(4000))[0] == 204
        assert [media_status(fake, slow["media_id"]) for _ in range(4)] == ["processing"] * 3 + ["succeeded"]
        fake.json("POST", "/_fake/media/settings", {"processing_polls": 0, "outcome": "failed"})
        instant = register_media(fake)
        assert upload(fake, instant, mp4_like(4000))[0] == 204
        assert media_status(fake, instant["media_id"]) == "failed"
    finally:
        fake.json("POST", "/_fake/media/settings", {"processing_polls": 1, "outcome": "normal"})
    assert fake.call("POST", "/_fake/media/settings", {"outcome": "later"})[0] == 400
    assert fake.call("POST", "/_fake/media/control", {"media_id": "1", "outcome": "failed"})[0] == 404


def test_media_faults(fake):
    fake.json("POST", "/_fake/faults", {"route": "POST /v5/media", "action": "status", "status": 500})
    before = len(fake.json("GET", "/_fake/media")["media"])
    assert fake.call("POST", "/v5/media", {"media_type": "video"})[0] == 500
    assert len(fake.json("GET", "/_fake/media")["media"]) == before
    media = register_media(fake)
    data = mp4_like(200_000)
    # The bytes arrive and are kept, but the answer is lost: a retry is a refused second upload.
    fake.json("POST", "/_fake/faults", {"route": "POST /_media_upload", "action": "close_after"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        upload(fake, media, data)
    assert fake_media(fake, media["media_id"])["uploads"] == 1
    assert upload(fake, media, data)[0] == 403
    assert fake_media(fake, media["media_id"])["refused_uploads"] == 1
    fake.json("POST", "/_fake/faults", {"route": "POST /_media_upload", "action": "status", "status": 503})
    other = register_media(fake)
    assert upload(fake, other, data)[0] == 503 and fake_media(fake, other["media_id"])["uploads"] == 0
    # A failed poll is no poll.
    fake.json("POST", "/_fake/faults", {"route": "GET /v5/media/{media_id}", "action": "status", "status": 503,
                                       "path": f"/v5/media/{media['media_id']}"})
    assert fake.call("GET", f"/v5/media/{media['media_id']}")[0] == 503
    assert fake_media(fake, media["media_id"])["polls"] == 0
    assert [media_status(fake, media["media_id"]) for _ in range(2)] == ["processing", "succeeded"]
    # A fault meant for video pins leaves an image pin alone.
    board_id = first_board(fake)["id"]
    fake.json("POST", "/_fake/faults", {"route": "POST /v5/pins", "action": "status", "status": 500,
                                       "source_type": "video_id"})
    picture = fake.json("POST", "/v5/pins", upload_body(board_id, png_bytes()), expect=201)
    assert fake.call("POST", "/v5/pins", video_pin_body(board_id, media["media_id"]))[0] == 500
    assert fake_media(fake, media["media_id"])["pin_id"] is None
    fake.json("POST", "/_fake/faults", {"route": "POST /v5/pins", "action": "close_after", "source_type": "video_id"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        fake.call("POST", "/v5/pins", video_pin_body(board_id, media["media_id"]))
    made = fake_media(fake, media["media_id"])["pin_id"]
    assert made and fake.json("GET", f"/v5/pins/{made}")["media"]["media_type"] == "video"
    for pin_id in (picture["id"], made):
        assert fake.call("DELETE", f"/v5/pins/{pin_id}")[0] == 204


# ----- every kind of pin ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample():
    server = Fake("--seed", "sample")
    yield server
    server.stop()


def test_sample_has_every_kind(sample):
    pins = sample.all_items("/v5/pins")
    by_title = {p["title"]: p for p in pins}
    kinds = [p["media"]["media_type"] for p in pins]
    assert {k: kinds.count(k) for k in set(kinds)} == {"image": 14, "video": 3, "multiple_images": 3,
                                                        "multiple_mixed": 1, "multiple_videos": 1}
    boards = {b["id"]: b["name"] for b in sample.all_items("/v5/boards")}
    for name in boards.values():   # every board has a video and a carousel of 3 pictures
        mine = [p for p in pins if boards[p["board_id"]] == name]
        assert any(p["media"]["media_type"] == "video" for p in mine)
        assert any(p["media"]["media_type"] == "multiple_images" and len(p["media"]["items"]) == 3 for p in mine)
    seen_videos, seen_images = set(), set()
    for pin in pins:
        media = pin["media"]
        assert pin["creative_type"] == {"image": "REGULAR", "video": "VIDEO"}.get(media["media_type"], "CAROUSEL")
        if media["media_type"] in ("image", "video"):
            check_images(sample, media["images"], seen_images)
        else:
            assert "images" not in media and "video_url" not in media
        if media["media_type"] == "video":
            assert {"cover_image_url", "video_url", "duration", "width", "height"} <= set(media)
            assert sample.call("GET", path_of(media["cover_image_url"]))[0] == 200
            if media["video_url"] is not None:
                check_video(sample, media["video_url"], seen_videos)
        for item in media.get("items", []):
            if item["item_type"] == "image":
                assert set(item) == {"item_type", "title", "description", "link", "images"}
                check_images(sample, item["images"], seen_images)
            else:
                assert set(item) == {"item_type", "cover_image_url", "video_url", "duration", "width", "height"}
                assert item["duration"] > 0 and item["width"] > 0 and item["height"] > 0
                check_video(sample, item["video_url"], seen_videos)
                assert sample.call("HEAD", path_of(item["cover_image_url"]))[0] == 200
    assert [p["title"] for p in pins if p["media"]["media_type"] == "video" and p["media"]["video_url"] is None] == \
        ["Building the herb spiral"]
    assert [i["item_type"] for i in by_title["Iceland ring road"]["media"]["items"]] == ["image", "video", "image"]
    assert [i["item_type"] for i in by_title["Santorini boat day"]["media"]["items"]] == ["video", "video"]
    # A carousel and a picture named as its second item would be, in one section.
    carousel, picture = by_title["Macarons, three ways"], by_title["Macarons, three ways [2]"]
    assert carousel["board_section_id"] == picture["board_section_id"] is not None
    assert picture["media"]["media_type"] == "image"
    assert carousel["media"]["items"][0]["title"] == "Pistachio"
    assert sample.call("GET", f"/vid/{pins[0]['id']}-9.mp4")[0] == 404
    assert sample.call("GET", f"/vid/{by_title['Lemon tart']['id']}.mp4")[0] == 404   # a picture has none
    assert sample.violations() == []


def test_sample_media_digests_and_determinism(sample):
    state = sample.state(images=True)
    for pin in state["pins"]:
        media = pin["media"]
        if media["media_type"] == "video" and media["video_url"]:
            data = sample.call("GET", path_of(media["video_url"]))[2]
            assert pin["_video"] == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for item, digests in zip(media.get("items", []), pin.get("_items", [])):
            if item["item_type"] == "video":
                data = sample.call("GET", path_of(item["video_url"]))[2]
                assert digests["_video"]["sha256"] == hashlib.sha256(data).hexdigest()
            else:
                data = sample.call("GET", path_of(item["images"]["600x"]["url"]))[2]
                assert digests["_image"]["600x"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert ("_items" in pin) == ("items" in media) and ("_video" in pin) == (media["media_type"] == "video")
    again = Fake("--seed", "sample")
    try:
        state_again = again.state(images=True)
    finally:
        again.stop()
    strip = lambda s: [{k: v for k, v in p.items() if k != "media"} for p in s["pins"]]
    assert strip(state_again) == strip(state), "the same ids, texts and bytes every run"


def test_generated_media_share():
    plain = Fake("--seed", "boards=3,pins=120,sections=2,media=0")
    mixed = Fake("--seed", "boards=3,pins=120,sections=2")
    lots = Fake("--seed", "boards=3,pins=120,sections=2,media=33")
    try:
        pins = {name: server.state()["pins"] for name, server in
                (("plain", plain), ("mixed", mixed), ("lots", lots))}
        kinds = {name: [p["media"]["media_type"] for p in found] for name, found in pins.items()}
        assert set(kinds["plain"]) == {"image"}
        # The default: 10% of the pins that carry no awkward seeded title (15 + 2 here).
        assert len(kinds["mixed"]) - kinds["mixed"].count("image") == (120 - 17) // 10
        assert len(kinds["lots"]) - kinds["lots"].count("image") == (120 - 17) * 33 // 100
        assert set(kinds["lots"]) == {"image", "video", "multiple_images", "multiple_mixed", "multiple_videos"}
        assert sum(k == "video" for k in kinds["lots"]) == ((120 - 17) * 33 // 100 + 1) // 2   # every other one
        hidden = [p for p in pins["lots"] if p["media"]["media_type"] == "video" and p["media"]["video_url"] is None]
        assert len(hidden) == sum(k == "video" for k in kinds["lots"]) // 7
        # Only the kinds change: the same ids, boards, texts; pictures keep their URLs and sizes.
        keep = ("id", "title", "board_id", "board_section_id", "description", "link", "created_at")
        for found in pins.values():
            assert [tuple(p[k] for k in keep) for p in found] == [tuple(p[k] for k in keep) for p in pins["plain"]]
        for before, after in zip(pins["plain"], pins["mixed"]):
            if after["media"]["media_type"] == "image":
                assert json.dumps(after["media"]).replace(mixed.base, "") == \
                    json.dumps(before["media"]).replace(plain.base, "")
            else:
                assert before["title"] not in ("Lemon tart", "Mood board", "Untitled", None, "")
        assert lots.violations() == [] and mixed.violations() == []
    finally:
        for server in (plain, mixed, lots):
            server.stop()
    assert refuses_arguments("--seed", "boards=1,pins=1,sections=0,media=101")


def test_admin_big_video_and_carousels(fake):
    board_id = first_board(fake)["id"]
    big = fake.json("POST", "/_fake/pins", {"board_id": board_id, "title": "Big clip", "media_type": "video",
                                            "video_size": 50 << 20}, expect=201)
    url = path_of(big["media"]["video_url"])
    status, headers, _ = fake.call("HEAD", url)
    assert status == 200 and int(headers["content-length"]) == 50 << 20
    whole = fake.call("GET", url, timeout=60)[2]
    assert len(whole) == 50 << 20 and whole[4:12] == b"ftypisom"
    for start, end in ((0, 99), (1 << 20, (1 << 20) + 70000), (37_000_001, 37_004_200), ((50 << 20) - 10, (50 << 20) - 1)):
        status, _, part = fake.call("GET", url, headers={"Range": f"bytes={start}-{end}"})
        assert status == 206 and part == whole[start:end + 1]
    assert whole[4096 * 5000:4096 * 5000 + 8] == (4096 * 5000).to_bytes(8, "big"), "filler blocks say where they are"
    digests = fake.json("GET", f"/_fake/state?images=1&pin_id={big['id']}")["pins"][0]["_video"]
    assert digests == {"size": 50 << 20, "sha256": hashlib.sha256(whole).hexdigest()}
    hidden = fake.json("POST", "/_fake/pins", {"board_id": board_id, "media_type": "video", "video_url_hidden": True},
                       expect=201)
    assert hidden["media"]["video_url"] is None and fake.call("GET", f"/vid/{hidden['id']}.mp4")[0] == 200

    seven = fake.json("POST", "/_fake/pins", {"board_id": board_id, "media_type": "multiple_images", "items": 7,
                                              "item_titles": ["one", None, "three"]}, expect=201)
    items = seven["media"]["items"]
    assert len(items) == 7 and [i["title"] for i in items[:4]] == ["one", None, "three", None]
    assert seven["creative_type"] == "CAROUSEL" and "images" not in seven["media"]
    assert fake.call("GET", path_of(items[6]["images"]["150x150"]["url"]))[0] == 200
    mixed = fake.json("POST", "/_fake/pins", {"board_id": board_id, "media_type": "multiple_mixed",
                                              "items": ["video", "image"]}, expect=201)
    assert [i["item_type"] for i in mixed["media"]["items"]] == ["video", "image"]
    videos = fake.json("POST", "/_fake/pins", {"board_id": board_id, "media_type": "multiple_videos", "items": 2},
                       expect=201)
    assert fake.call("HEAD", path_of(videos["media"]["items"][1]["video_url"]))[0] == 200
    for bad in ({"media_type": "gif"}, {"media_type": "multiple_images", "items": 0},
                {"media_type": "multiple_images", "items": ["video"]}, {"media_type": "video", "video_size": -1}):
        assert fake.call("POST", "/_fake/pins", {"board_id": board_id, **bad})[0] == 400
    # A saved copy shows the same media.
    copy = fake.json("POST", f"/v5/pins/{mixed['id']}/save", {"board_id": board_id}, expect=201)
    assert [i["item_type"] for i in copy["media"]["items"]] == ["video", "image"]
    assert fake.call("GET", path_of(copy["media"]["items"][0]["video_url"]))[2] == \
        fake.call("GET", path_of(mixed["media"]["items"][0]["video_url"]))[2]
    for pin in (big, hidden, seven, mixed, videos, copy):
        assert fake.call("DELETE", f"/v5/pins/{pin['id']}")[0] == 204


def test_video_faults_and_hostile_urls(fake):
    pin = next(p for p in fake.all_items("/v5/pins") if p["media"]["media_type"] == "video" and p["media"]["video_url"])
    url = path_of(pin["media"]["video_url"])
    data = fake.call("GET", url)[2]
    fake.json("POST", "/_fake/faults", {"route": "GET /vid", "action": "truncate", "bytes": 100})
    with pytest.raises(http.client.IncompleteRead):
        fake.call("GET", url)
    fake.json("POST", "/_fake/faults", {"route": "GET /vid", "action": "status", "status": 503, "path": url})
    assert fake.call("GET", url)[0] == 503
    fake.json("POST", "/_fake/faults", {"route": "GET /vid", "action": "raw", "status": 200, "body_text": "not a video"})
    assert fake.call("GET", url)[2] == b"not a video"
    fake.json("POST", "/_fake/faults", {"route": "HEAD /vid", "action": "close"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        fake.call("HEAD", url)
    fake.json("POST", "/_fake/faults", {"route": "GET /vid", "action": "stall", "bytes": 10, "ms": 200})
    started = time.monotonic()
    assert fake.call("GET", url)[2] == data and time.monotonic() - started >= 0.2
    changed = fake.json("POST", "/_fake/pin_media", {"pin_id": pin["id"], "video_url": "file:///etc/passwd"})
    assert changed["media"]["video_url"] == "file:///etc/passwd"
    assert changed["media"]["images"]["150x150"]["url"] == pin["media"]["images"]["150x150"]["url"]
    log = [r for r in fake.json("GET", "/_fake/requests")["requests"] if r["route"] in ("GET /vid", "HEAD /vid")]
    assert [r.get("fault") for r in log[-5:]] == ["truncate", "status", "raw", "close", "stall"]


def test_checker_knows_every_media_shape():
    sys.path.insert(0, str(FAKE_DIR))
    try:
        import openapi_check
    finally:
        sys.path.remove(str(FAKE_DIR))
    spec = openapi_check.find_spec()
    if spec is None:
        pytest.skip("the OpenAPI description is not available")
    checker = openapi_check.SpecChecker.load(spec)

    def problems(media):
        return checker.check_response("GET", "/pins/{pin_id}", 200, "application/json",
                                      json.dumps({"id": "1", "media": media}).encode())

    image = {"150x150": {"url": "u", "width": 1, "height": 1}}
    video_item = {"item_type": "video", "cover_image_url": "c", "video_url": None, "duration": 1.5,
                  "width": 1, "height": 1}
    assert problems({"media_type": "video", "images": image, "video_url": None, "duration": 10}) == []
    assert problems({"media_type": "multiple_mixed", "items": [{"item_type": "image", "images": image}, video_item]}) == []
    assert problems({"media_type": "video", "duration": "10 s"})
    assert problems({"media_type": "multiple_videos", "items": [dict(video_item, width="wide")]})
    assert problems({"media_type": "multiple_images", "items": [{"item_type": "image", "images": {"600x": {"url": 3}}}]})
    assert problems({"media_type": "carousel", "items": []})


# ----- oauth ------------------------------------------------------------------------------------
def basic(client=CLIENT):
    return "Basic " + base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()


def authorize(fake, redirect="http://localhost:8085/cb"):
    query = urlencode({"client_id": CLIENT[0], "redirect_uri": redirect, "response_type": "code",
                       "scope": "boards:read,pins:read", "state": "xyz"})
    status, headers, _ = fake.call("GET", f"/oauth/?{query}")
    assert status == 302
    location = urlsplit(headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    params = parse_qs(location.query)
    assert params["state"] == ["xyz"]
    return params["code"][0]


def token_call(fake, form, client=CLIENT):
    return fake.call("POST", "/v5/oauth/token", urlencode(form), token=None,
                     headers={"Authorization": basic(client),
                              "Content-Type": "application/x-www-form-urlencoded"})


def test_oauth_code_and_refresh_rotation(fake):
    redirect = "http://localhost:8085/cb"
    code = authorize(fake, redirect)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
            "continuous_refresh": "true"}
    error_of(token_call(fake, form, client=("fake-client", "nope")), 401, 2)
    status, _, data = token_call(fake, form)
    assert status == 200, data
    tokens = json.loads(data)
    assert tokens["token_type"] == "bearer" and tokens["scope"] == "boards:read,pins:read"
    assert tokens["expires_in"] > 0 and tokens["refresh_token_expires_at"] > time.time()
    error_of(token_call(fake, form), 400, 1)    # a code works once
    assert fake.call("GET", "/v5/user_account", token=tokens["access_token"])[0] == 200
    status, _, data = token_call(fake, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    rotated = json.loads(data)
    assert status == 200 and rotated["refresh_token"] != tokens["refresh_token"]
    error_of(token_call(fake, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}), 400, 1)
    assert fake.call("GET", "/v5/user_account", token=rotated["access_token"])[0] == 200


def test_expire_one_token_then_refresh(fake):
    code = authorize(fake)
    tokens = json.loads(token_call(fake, {"grant_type": "authorization_code", "code": code,
                                          "redirect_uri": "http://localhost:8085/cb"})[2])
    fake.json("POST", "/_fake/expire_token", {"token": tokens["access_token"]})
    error_of(fake.call("GET", "/v5/user_account", token=tokens["access_token"]), 401, 2)
    assert fake.call("GET", "/v5/user_account")[0] == 200    # the --token one still works
    status, _, data = token_call(fake, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert fake.call("GET", "/v5/user_account", token=json.loads(data)["access_token"])[0] == 200


def test_expire_all_tokens():
    server = Fake("--seed", "boards=1,pins=0,sections=0")   # its own: it ends up unusable
    try:
        assert server.call("GET", "/v5/user_account")[0] == 200
        server.json("POST", "/_fake/expire_token")
        error_of(server.call("GET", "/v5/user_account"), 401, 2)
    finally:
        server.stop()


# ----- people and search ------------------------------------------------------------------------
def test_social_listings_and_follow(fake):
    me = fake.json("GET", "/v5/user_account")["username"]
    assert len(fake.json("GET", "/v5/user_account/followers")["items"]) == 5
    following = fake.json("GET", "/v5/user_account/following")["items"]
    assert all(u["type"] == "user" for u in following)
    boards = fake.json("GET", "/v5/user_account/following/boards")["items"]
    assert len(boards) == 2 and all(b["owner"]["username"] != me for b in boards)
    cover = path_of(boards[0]["media"]["image_cover_url"])
    assert fake.call("HEAD", cover)[0] == 200
    foreign = f"/v5/boards/{boards[0]['id']}"
    assert fake.json("GET", foreign)["owner"] == boards[0]["owner"]   # readable, not listable
    error_of(fake.call("GET", foreign + "/pins"), 403, 29)
    error_of(fake.call("DELETE", foreign), 403, 29)
    assert len(fake.json("GET", f"/v5/users/{me}/interests/follow")["items"]) == 3
    error_of(fake.call("GET", "/v5/users/nobody_here/interests/follow"), 404, 30)
    followed = fake.json("POST", "/v5/user_account/following/marta_makes", {"auto_follow": False})
    assert followed["username"] == "marta_makes"
    names = [u["username"] for u in fake.json("GET", "/v5/user_account/following")["items"]]
    assert names[-1] == "marta_makes" and len(names) == len(following) + 1
    error_of(fake.call("POST", "/v5/user_account/following/nobody_here", {"auto_follow": False}), 404, 30)


def test_search(fake):
    found = fake.json("GET", "/v5/search/boards?query=RECIPES")["items"]
    assert [b["name"] for b in found] == ["Recipes"]
    pins = fake.json("GET", "/v5/search/pins?query=lemon%20tart")
    assert sum(p["title"] == "Lemon tart" for p in pins["items"]) == 3
    assert all("lemon tart" in (p["title"] + (p["description"] or "")).lower() for p in pins["items"])
    some = fake.json("GET", "/v5/pins?page_size=2")["items"]
    by_id = fake.json("GET", "/v5/search/pins?query=" + ",".join(p["id"] for p in some))["items"]
    assert {p["id"] for p in by_id} == {p["id"] for p in some}
    everything = fake.all_items("/v5/search/boards?query=")
    assert len(everything) == fake.json("GET", "/v5/user_account")["board_count"]


# ----- analytics --------------------------------------------------------------------------------
def test_user_account_analytics(fake):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    start = today - datetime.timedelta(days=30)
    path = f"/v5/user_account/analytics?start_date={start}&end_date={today}"
    answer = fake.json("GET", path)
    days = answer["all"]["daily_metrics"]
    assert [d["date"] for d in days] == [str(start + datetime.timedelta(days=n)) for n in range(31)]
    assert {d["data_status"] for d in days[:-1]} == {"READY"} and days[-1]["data_status"] == "PROCESSING"
    summary = answer["all"]["summary_metrics"]
    for metric in ("IMPRESSION", "SAVE", "PIN_CLICK", "OUTBOUND_CLICK"):
        assert summary[metric] == sum(d["metrics"][metric] for d in days) > 0
    assert fake.json("GET", path) == answer   # the same numbers every time
    week = fake.json("GET", f"/v5/user_account/analytics?start_date={start}&end_date={start + datetime.timedelta(days=6)}")
    assert week["all"]["daily_metrics"] == days[:7]
    long_ago = today - datetime.timedelta(days=91)
    with fake.deliberate_violations():
        for query in (f"end_date={today}", f"start_date={start}", f"start_date=yesterday&end_date={today}",
                      f"start_date={today}&end_date={start}", f"start_date={long_ago}&end_date={today}"):
            error_of(fake.call("GET", f"/v5/user_account/analytics?{query}"), 400, 400)
    # An app without analytics access: a 403 forced on the route.
    fake.json("POST", "/_fake/faults", {"route": "GET /v5/user_account/analytics", "action": "status",
                                       "status": 403, "body": {"code": 403, "message": "Not authorized."}})
    error_of(fake.call("GET", path), 403, 403)
    assert fake.json("GET", path) == answer


# ----- admin: counts, faults, latency, rate limit, state -------------------------------------------
def test_counts_and_request_log(fake):
    fake.json("POST", "/_fake/counts/reset")
    board_id = first_board(fake)["id"]
    fake.call("GET", f"/v5/boards/{board_id}/pins")
    fake.call("GET", f"/v5/boards/{board_id}/pins?page_size=3")
    fake.call("HEAD", "/img/originals/1.jpg")
    counts = fake.json("GET", "/_fake/counts")
    assert counts == {"counts": {"GET /v5/boards": 1, "GET /v5/boards/{board_id}/pins": 2, "HEAD /img": 1},
                      "total": 4}
    log = fake.json("GET", "/_fake/requests")["requests"]
    assert [(r["route"], r["status"]) for r in log] == [
        ("GET /v5/boards", 200), ("GET /v5/boards/{board_id}/pins", 200),
        ("GET /v5/boards/{board_id}/pins", 200), ("HEAD /img", 404)]
    assert log[2]["query"] == "page_size=3" and log[2]["path"] == f"/v5/boards/{board_id}/pins"


def test_fault_status_and_raw(fake):
    fake.json("POST", "/_fake/faults", {"route": "GET /v5/user_account", "count": 2, "action": "status",
                                       "status": 503, "headers": {"Retry-After": "1"}})
    assert len(fake.json("GET", "/_fake/faults")["faults"]) == 1
    for _ in range(2):
        status, headers, body = fake.call("GET", "/v5/user_account")
        assert status == 503 and headers["retry-after"] == "1" and json.loads(body)["code"] == 503
    assert fake.call("GET", "/v5/user_account")[0] == 200
    fake.json("POST", "/_fake/faults", {"route": "GET /v5/user_account", "action": "raw", "status": 200,
                                       "body_text": "{not json"})
    assert fake.call("GET", "/v5/user_account")[2] == b"{not json"
    fake.json("POST", "/_fake/faults", {"route": "GET /v5/boards", "action": "status", "status": 429})
    error_of(fake.call("GET", "/v5/boards"), 429, 8)
    fake.json("POST", "/_fake/faults", {"route": "POST /v5/boards", "action": "status", "status": 500})
    assert fake.call("POST", "/v5/boards", {"name": "Never made"})[0] == 500
    assert "Never made" not in [b["name"] for b in fake.state()["boards"]]
    assert fake.call("POST", "/_fake/faults", {"route": "GET /v5/boards", "action": "explode"})[0] == 400


def test_fault_for_one_path(fake):
    boards = fake.json("GET", "/v5/boards")["items"]
    a, b = boards[0]["id"], boards[1]["id"]
    fake.json("POST", "/_fake/faults", {"route": "GET /v5/boards/{board_id}/sections", "action": "status",
                                       "status": 500, "path": f"/v5/boards/{b}/sections"})
    assert fake.call("GET", f"/v5/boards/{a}/sections")[0] == 200   # another board: not taken
    assert fake.call("GET", f"/v5/boards/{b}/sections")[0] == 500
    assert fake.call("GET", f"/v5/boards/{b}/sections")[0] == 200   # used up
    assert fake.call("POST", "/_fake/faults", {"route": "GET /v5/boards", "action": "close",
                                               "path": "v5/boards"})[0] == 400


def test_fault_close_and_close_after(fake):
    fake.json("POST", "/_fake/faults", {"route": "POST /v5/boards", "action": "close"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        fake.call("POST", "/v5/boards", {"name": "Closed"})
    assert "Closed" not in [b["name"] for b in fake.state()["boards"]]
    fake.json("POST", "/_fake/faults", {"route": "POST /v5/boards", "action": "close_after"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        fake.call("POST", "/v5/boards", {"name": "Lost answer"})
    made = [b for b in fake.state()["boards"] if b["name"] == "Lost answer"]
    assert len(made) == 1, "close_after performs the request"
    assert fake.call("DELETE", f"/v5/boards/{made[0]['id']}")[0] == 204
    log = fake.json("GET", "/_fake/requests")["requests"]
    assert [r.get("fault") for r in log if r["route"] == "POST /v5/boards"][-2:] == ["close", "close_after"]


def test_fault_truncate_delay_and_clear(fake):
    url = path_of(image_pin(fake.json("GET", "/v5/pins")["items"])["media"]["images"]["originals"]["url"])
    fake.json("POST", "/_fake/faults", {"route": "GET /img", "action": "truncate", "bytes": 100})
    with pytest.raises(http.client.IncompleteRead):
        fake.call("GET", url)
    fake.json("POST", "/_fake/faults", {"route": "GET /v5/user_account", "action": "delay", "ms": 300})
    started = time.monotonic()
    assert fake.call("GET", "/v5/user_account")[0] == 200
    assert time.monotonic() - started >= 0.3
    fake.json("POST", "/_fake/faults", {"route": "GET /v5/user_account", "action": "close", "count": 5})
    fake.json("DELETE", "/_fake/faults")
    assert fake.json("GET", "/_fake/faults")["faults"] == []
    assert fake.call("GET", "/v5/user_account")[0] == 200


def test_latency_overlaps(fake):
    fake.json("POST", "/_fake/latency", {"ms": 300})
    try:
        results = []
        threads = [threading.Thread(target=lambda: results.append(fake.call("GET", "/v5/user_account")[0]))
                   for _ in range(6)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        fake.json("POST", "/_fake/latency", {"ms": 0})
    assert results == [200] * 6 and 0.3 <= elapsed < 1.0


def test_rate_limit(limited):
    time.sleep(1.0)   # a fresh window
    statuses = [limited.call("GET", "/v5/boards")[0] for _ in range(8)]
    assert statuses.count(200) == 5 and statuses.count(429) == 3
    error_of(limited.call("GET", "/v5/boards"), 429, 8)
    assert limited.call("HEAD", "/img/originals/1.jpg")[0] == 404   # images are not limited
    time.sleep(1.05)
    assert limited.call("GET", "/v5/boards")[0] == 200


def test_sample_seed_and_state_images(limited):
    state = limited.state(images=True)
    assert [b["name"] for b in state["boards"]] == ["Recipes", "Travel", "Garden ideas"]
    recipes = state["boards"][0]["id"]
    assert [s["name"] for s in state["sections"][recipes]] == ["Desserts"]
    assert len(state["pins"]) == 22
    pin = image_pin(state["pins"])
    data = limited.call("GET", path_of(pin["media"]["images"]["originals"]["url"]))[2]
    assert pin["_image"]["originals"] == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    sizes = {p["_image"]["originals"]["size"] for p in state["pins"]}
    assert len(sizes) == len(state["pins"]) and min(sizes) > 10_000
    pictures = [p for p in state["pins"] if p["media"]["media_type"] == "image"]
    assert len(pictures) == 14
    assert {p["media"]["images"]["originals"]["url"].rsplit(".", 1)[1] for p in pictures} == {"jpg", "png"}
    assert "_image" not in limited.state()["pins"][0]


def test_validation_disabled_without_spec(limited):
    assert limited.json("GET", "/_fake/violations") == {"violations": [], "disabled": True}


# ----- OpenAPI validation ----------------------------------------------------------------------
@needs_spec
def test_bad_request_body_is_flagged(fake):
    with fake.deliberate_violations():
        error_of(fake.call("POST", "/v5/boards", {"name": 123}), 400, 1)
        found = fake.violations()
        assert [(v["route"], v["where"], v["status"]) for v in found] == [("POST /v5/boards", "request", 400)]
        assert "name" in found[0]["error"]


def test_response_checker_catches_wrong_shapes():
    sys.path.insert(0, str(FAKE_DIR))
    try:
        import openapi_check
    finally:
        sys.path.remove(str(FAKE_DIR))
    spec = openapi_check.find_spec()
    if spec is None:
        pytest.skip("the OpenAPI description is not available")
    checker = openapi_check.SpecChecker.load(spec)
    assert checker.check_response("GET", "/pins/{pin_id}", 200, "application/json", b'{"id": "1"}') == []
    assert checker.check_response("GET", "/pins/{pin_id}", 200, "application/json", b'{"id": 1}')
    assert checker.check_response("GET", "/boards", 200, "application/json", b'{"items": [{"id": "1"}]}')
    assert checker.check_response("DELETE", "/pins/{pin_id}", 200, "application/json", b'{}')  # 204 only
    assert checker.check_request("GET", "/boards", {}, "page_size=0", None, b"")


def test_normal_traffic_has_no_violations(fake):
    """Runs last: everything above that was not deliberately wrong must match the spec."""
    assert fake.violations() == []
