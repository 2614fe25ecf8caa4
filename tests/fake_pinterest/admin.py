"""The /_fake/ control routes used by tests: counts, request log, faults, state, knobs."""

import hashlib
import json

from images import SIZE_KEYS
from messages import Response


def error(status, message):
    return Response(status, {"error": message})


def json_body(req):
    """The request's JSON object (an empty body counts as {}); ValueError when malformed."""
    if not req.body.strip():
        return {}
    value = json.loads(req.body)
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def handle(app, req):
    route = ROUTES.get((req.method, req.path.rstrip("/")))
    if route is None:
        return error(404, f"no admin route {req.method} {req.path}")
    try:
        return route(app, req)
    except ValueError as exc:
        return error(400, str(exc))


def counts(app, req):
    return Response(200, app.traffic.summary())


def reset_counts(app, req):
    app.traffic.reset()
    return Response(200, app.traffic.summary())


def requests(app, req):
    return Response(200, app.traffic.requests())


def add_fault(app, req):
    return Response(200, {"queued": app.faults.add(json_body(req))})


def list_faults(app, req):
    return Response(200, {"faults": app.faults.list()})


def clear_faults(app, req):
    app.faults.clear()
    return Response(200, {"faults": []})


def image_digests(image):
    """Size and sha256 of every size of an image (this generates them)."""
    digests = {}
    for key in SIZE_KEYS:
        data = image.data(key)
        digests[key] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return digests


def state(app, req):
    store = app.store
    with store.lock:
        dump = {
            "user": store.account_json(),
            "boards": [store.board_json(b) for b in store.board_list],
            "sections": {b.id: [store.section_json(s) for s in b.sections] for b in store.board_list},
            "pins": [dict(store.pin_json(p)) for p in reversed(store.pin_list)],
            "following": [store.person_json(p) for p in store.following],
            "followers": [store.person_json(p) for p in store.followers],
            "interests": [store.interest_json(i) for i in store.interests],
            "following_boards": [store.foreign_board_json(b) for b in store.following_boards],
        }
        images = {p.id: p.image for p in store.pin_list}
    if req.arg("images") in ("1", "true"):
        for pin in dump["pins"]:   # outside the lock: generating images takes a while
            pin["_image"] = image_digests(images[pin["id"]])
    return Response(200, dump)


def set_latency(app, req):
    ms = json_body(req).get("ms")
    if not isinstance(ms, (int, float)) or ms < 0:
        raise ValueError("'ms' must be a non-negative number")
    app.latency_ms = ms
    return Response(200, {"ms": ms})


def expire_token(app, req):
    token = json_body(req).get("token")
    if not app.tokens.expire(token):
        return error(404, "unknown token")
    return Response(200, {"expired": token or "all"})


def set_pin_media(app, req):
    """Every image URL of a pin becomes `url`, whatever it is (file:///etc/passwd, ftp://...):
    what a hostile or broken API could answer."""
    body = json_body(req)
    url = body.get("url")
    if not isinstance(url, str):
        raise ValueError("'url' must be a string")
    store = app.store
    with store.lock:
        pin = store.pins.get(str(body.get("pin_id")))
        if pin is None:
            return error(404, "unknown pin_id")
        pin.media_url = url
        pin.rendered = None
        store.touch(store.boards[pin.board_id])
        return Response(200, store.pin_json(pin))


def text_field(body, name, default=None):
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string or null")
    return value


def add_board(app, req):
    """A board made directly in the store: no check on its name (empty, '..', a duplicate)."""
    body = json_body(req)
    privacy = body.get("privacy", "PUBLIC")
    if privacy not in ("PUBLIC", "PROTECTED", "SECRET"):
        raise ValueError("'privacy' must be PUBLIC, PROTECTED or SECRET")
    with app.store.lock:
        board = app.store.add_board(text_field(body, "name", ""), text_field(body, "description", ""),
                                    privacy)
        return Response(201, app.store.board_json(board))


def add_section(app, req):
    """A section made directly in the store: no check on its name."""
    body = json_body(req)
    store = app.store
    with store.lock:
        board = store.boards.get(str(body.get("board_id")))
        if board is None:
            return error(404, "unknown board_id")
        return Response(201, store.section_json(store.add_section(board, text_field(body, "name", ""))))


def add_pin(app, req):
    """A pin made directly in the store, with a seeded picture: no check on its texts."""
    body = json_body(req)
    store = app.store
    with store.lock:
        board = store.boards.get(str(body.get("board_id")))
        if board is None:
            return error(404, "unknown board_id")
        section = None
        if body.get("section_id") is not None:
            section = store.sections.get(str(body["section_id"]))
            if section is None or section.board_id != board.id:
                return error(404, "unknown section_id")
        fields = {name: text_field(body, name) for name in ("title", "description", "link", "alt_text")
                  if name in body}
        image = store.images.seeded(len(store.pin_list), f"admin-{store.seq}")
        pin = store.add_pin(board, section, image, **fields)
        return Response(201, store.pin_json(pin))


def media_list(app, req):
    return Response(200, app.media.admin_list())


def media_settings(app, req):
    return Response(200, app.media.settings(json_body(req)))


def media_control(app, req):
    media = app.media.control(json_body(req))
    return Response(200, media) if media else error(404, "unknown media_id")


def violations(app, req):
    return Response(200, app.violations.report())


def reset_violations(app, req):
    app.violations.reset()
    return Response(200, {"violations": []})


def shutdown(app, req):
    app.stop_requested = True   # the server stops once this answer has been sent
    return Response(200, {"stopping": True})


ROUTES = {
    ("GET", "/_fake/counts"): counts,
    ("POST", "/_fake/counts/reset"): reset_counts,
    ("GET", "/_fake/requests"): requests,
    ("GET", "/_fake/faults"): list_faults,
    ("POST", "/_fake/faults"): add_fault,
    ("DELETE", "/_fake/faults"): clear_faults,
    ("GET", "/_fake/state"): state,
    ("POST", "/_fake/latency"): set_latency,
    ("POST", "/_fake/expire_token"): expire_token,
    ("POST", "/_fake/pin_media"): set_pin_media,
    ("POST", "/_fake/boards"): add_board,
    ("POST", "/_fake/sections"): add_section,
    ("POST", "/_fake/pins"): add_pin,
    ("GET", "/_fake/media"): media_list,
    ("POST", "/_fake/media/settings"): media_settings,
    ("POST", "/_fake/media/control"): media_control,
    ("GET", "/_fake/violations"): violations,
    ("POST", "/_fake/violations/reset"): reset_violations,
    ("POST", "/_fake/shutdown"): shutdown,
}
