"""The /v5 endpoints: routing by OpenAPI path template, input checks, and the handlers."""

import base64
import binascii
import datetime
import re

from messages import ApiError, Response, bad_request, CODE_IMAGE_BROKEN
from pagination import paginate
from pin_media import PinVideo

# Limits from the spec (Pin, BoardSection) and NOTES.md.
PIN_TEXT_LIMITS = {"title": 100, "description": 800, "link": 2048, "alt_text": 500}
SECTION_NAME_MAX = 180
SEARCH_PINS_PAGE = 25
IMAGE_URL = re.compile(r"^https?://[^/]+/img/[^/]+/(\d+(?:-\d+)?)\.(?:jpg|png)$")
ANALYTICS_DAYS_BACK = 90   # start_date at most this many days before today, end_date after start
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Router:
    """Matches "/v5/..." paths against OpenAPI templates such as /boards/{board_id}."""

    def __init__(self, routes):
        self.routes = []
        for method, template, handler in routes:
            pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template))
            self.routes.append((method, template, re.compile(pattern + "$"), handler))

    def match(self, method, path):
        """(template, handler, params); handler None = wrong method; template None = unknown."""
        fallback = None
        for route_method, template, regex, handler in self.routes:
            found = regex.match(path)
            if found:
                if route_method == method:
                    return template, handler, found.groupdict()
                fallback = fallback or (template, None, found.groupdict())
        return fallback or (None, None, {})


def text_value(body, name, limit=None, nullable=True):
    value = body[name]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise bad_request(f"'{name}' must be a string.")
    if limit is not None and len(value) > limit:
        raise bad_request(f"'{name}' is too long ({len(value)} characters, at most {limit}).")
    return value


def only_fields(body, allowed):
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise bad_request(f"Unknown or read-only field(s): {', '.join(unknown)}.")


def pin_text_fields(body):
    return {name: text_value(body, name, limit) for name, limit in PIN_TEXT_LIMITS.items() if name in body}


def board_name(body):
    name = text_value(body, "name", nullable=False)
    if not name.strip():
        raise bad_request("Board name must not be empty.")
    return name


def section_name(body):
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= SECTION_NAME_MAX or not name.strip():
        raise ApiError(400, 400, "Invalid board section parameters.")
    return name


def id_value(body, name, nullable=False):
    value = body.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value.isdigit():
        raise bad_request(f"'{name}' must be a string of digits.")
    return value


def analytics_error(why):
    return ApiError(400, 400, f"Invalid user accounts analytics parameters: {why}")


def analytics_date(req, name):
    text = req.arg(name)
    if text is None:
        raise analytics_error(f"'{name}' is required.")
    try:
        if not DATE.fullmatch(text):
            raise ValueError
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise analytics_error(f"'{name}' must be a date as YYYY-MM-DD, not {text!r}.") from None


class Api:
    def __init__(self, store, images, tokens, media):
        self.store, self.images, self.tokens, self.media = store, images, tokens, media
        self.router = Router([
            ("GET", "/user_account", self.account),
            ("GET", "/boards", self.list_boards),
            ("POST", "/boards", self.create_board),
            ("GET", "/boards/{board_id}", self.get_board),
            ("PATCH", "/boards/{board_id}", self.update_board),
            ("DELETE", "/boards/{board_id}", self.delete_board),
            ("GET", "/boards/{board_id}/pins", self.board_pins),
            ("GET", "/boards/{board_id}/sections", self.list_sections),
            ("POST", "/boards/{board_id}/sections", self.create_section),
            ("PATCH", "/boards/{board_id}/sections/{section_id}", self.update_section),
            ("DELETE", "/boards/{board_id}/sections/{section_id}", self.delete_section),
            ("GET", "/boards/{board_id}/sections/{section_id}/pins", self.section_pins),
            ("GET", "/pins", self.list_pins),
            ("POST", "/pins", self.create_pin),
            ("GET", "/pins/{pin_id}", self.get_pin),
            ("PATCH", "/pins/{pin_id}", self.update_pin),
            ("DELETE", "/pins/{pin_id}", self.delete_pin),
            ("POST", "/pins/{pin_id}/save", self.save_pin),
            ("GET", "/search/boards", self.search_boards),
            ("GET", "/search/pins", self.search_pins),
            ("GET", "/user_account/analytics", self.analytics),
            ("GET", "/user_account/followers", self.followers),
            ("GET", "/user_account/following", self.following),
            ("GET", "/user_account/following/boards", self.following_boards),
            ("GET", "/users/{username}/interests/follow", self.interests),
            ("POST", "/user_account/following/{username}", self.follow_user),
            ("POST", "/oauth/token", self.tokens.token),
            ("GET", "/media", media.api_list),
            ("POST", "/media", media.api_create),
            ("GET", "/media/{media_id}", media.api_get),
        ])

    # ----- account and people -------------------------------------------------------------
    def account(self, req):
        with self.store.lock:
            return Response(200, self.store.account_json())

    def analytics(self, req):
        """start_date and end_date (UTC, YYYY-MM-DD) are required, as Pinterest's are; the other
        parameters are accepted and make no difference."""
        start, end = analytics_date(req, "start_date"), analytics_date(req, "end_date")
        today = datetime.datetime.now(datetime.timezone.utc).date()
        if start > end:
            raise analytics_error("start_date is after end_date.")
        if (today - start).days > ANALYTICS_DAYS_BACK:
            raise analytics_error(f"start_date cannot be more than {ANALYTICS_DAYS_BACK} days back from today.")
        if (end - start).days > ANALYTICS_DAYS_BACK:
            raise analytics_error(f"end_date cannot be more than {ANALYTICS_DAYS_BACK} days past start_date.")
        with self.store.lock:
            return Response(200, self.store.analytics_json(start, end, today))

    def followers(self, req):
        with self.store.lock:
            return Response(200, paginate(req, self.store.followers, self.store.person_json))

    def following(self, req):
        with self.store.lock:
            return Response(200, paginate(req, self.store.following, self.store.person_json))

    def following_boards(self, req):
        with self.store.lock:
            return Response(200, paginate(req, self.store.following_boards, self.store.foreign_board_json))

    def interests(self, req):
        store = self.store
        with store.lock:
            username = req.params["username"]
            if username == store.me["username"]:
                items = store.interests
            else:
                store.person(username)
                items = []   # other people's interests are not modelled
            return Response(200, paginate(req, items, store.interest_json))

    def follow_user(self, req):
        body = req.json() if req.body.strip() else {}
        only_fields(body, ("auto_follow",))
        if not isinstance(body.get("auto_follow", False), bool):
            raise bad_request("'auto_follow' must be a boolean.")
        with self.store.lock:
            if req.params["username"] == self.store.me["username"]:
                raise bad_request("You cannot follow yourself.")
            return Response(200, self.store.person_json(self.store.follow(req.params["username"])))

    # ----- boards ---------------------------------------------------------------------------
    def list_boards(self, req):
        privacy = req.arg("privacy")
        if privacy not in (None, "ALL", "PUBLIC", "PROTECTED", "SECRET", "PUBLIC_AND_SECRET"):
            raise bad_request(f"Invalid privacy filter {privacy!r}.")
        with self.store.lock:
            return Response(200, paginate(req, self.store.boards_with_privacy(privacy), self.store.board_json))

    def create_board(self, req):
        body = req.json()
        if "name" not in body:
            raise bad_request("'name' is required.")
        name = board_name(body)
        description = text_value(body, "description") if "description" in body else ""
        privacy = body.get("privacy", "PUBLIC")
        if privacy not in ("PUBLIC", "PROTECTED", "SECRET"):
            raise bad_request(f"Invalid privacy {privacy!r}.")
        with self.store.lock:
            self.store.check_board_name(name)
            board = self.store.add_board(name, description, privacy)
            return Response(201, self.store.board_json(board))

    def get_board(self, req):
        with self.store.lock:
            return Response(200, self.store.board_view(req.params["board_id"]))

    def update_board(self, req):
        body = req.json()
        only_fields(body, ("name", "description", "privacy"))
        fields = {}
        if "name" in body:
            fields["name"] = board_name(body)
        if "description" in body:
            fields["description"] = text_value(body, "description")
        if "privacy" in body:
            if body["privacy"] not in ("PUBLIC", "SECRET"):
                raise bad_request(f"Invalid privacy {body['privacy']!r}.")
            fields["privacy"] = body["privacy"]
        with self.store.lock:
            board = self.store.board(req.params["board_id"])
            self.store.update_board(board, fields)
            return Response(200, self.store.board_json(board))

    def delete_board(self, req):
        with self.store.lock:
            self.store.delete_board(self.store.board(req.params["board_id"]))
            return Response(204)

    def board_pins(self, req):
        """All the board's pins, those in sections too (as the live API does)."""
        with self.store.lock:
            board = self.store.board(req.params["board_id"])
            return Response(200, paginate(req, board.pins, self.store.pin_json, newest_first=True))

    # ----- sections -------------------------------------------------------------------------
    def list_sections(self, req):
        with self.store.lock:
            board = self.store.board(req.params["board_id"])
            return Response(200, paginate(req, board.sections, self.store.section_json))

    def _check_section_name_free(self, board, name, section=None):
        if any(s is not section and s.name.casefold() == name.casefold() for s in board.sections):
            raise ApiError(409, 409, "Board section conflict.")

    def create_section(self, req):
        body = req.json()
        name = section_name(body)
        with self.store.lock:
            board = self.store.board(req.params["board_id"])
            self._check_section_name_free(board, name)
            return Response(201, self.store.section_json(self.store.add_section(board, name)))

    def update_section(self, req):
        body = req.json()
        only_fields(body, ("name",))
        name = section_name(body)
        with self.store.lock:
            board = self.store.board(req.params["board_id"])
            section = self.store.section(board, req.params["section_id"])
            self._check_section_name_free(board, name, section)
            section.name = name
            return Response(200, self.store.section_json(section))

    def delete_section(self, req):
        with self.store.lock:
            board = self.store.board(req.params["board_id"])
            self.store.delete_section(board, self.store.section(board, req.params["section_id"]))
            return Response(204)

    def section_pins(self, req):
        with self.store.lock:
            board = self.store.board(req.params["board_id"])
            section = self.store.section(board, req.params["section_id"])
            pins = [p for p in board.pins if p.section_id == section.id]
            return Response(200, paginate(req, pins, self.store.pin_json, newest_first=True))

    # ----- pins -----------------------------------------------------------------------------
    def list_pins(self, req):
        with self.store.lock:
            return Response(200, paginate(req, self.store.pin_list, self.store.pin_json, newest_first=True))

    def get_pin(self, req):
        with self.store.lock:
            return Response(200, self.store.pin_json(self.store.pin(req.params["pin_id"])))

    def create_pin(self, req):
        body = req.json()
        board_id = id_value(body, "board_id")
        section_id = id_value(body, "board_section_id", nullable=True)
        fields = pin_text_fields(body)
        if "dominant_color" in body:
            fields["dominant_color"] = text_value(body, "dominant_color", nullable=False)
        source = body.get("media_source")
        if isinstance(source, dict) and source.get("source_type") == "video_id":
            return self._create_video_pin(req, source, board_id, section_id, fields)
        image = self._image_from_source(source)   # slow part, outside the lock
        with self.store.lock:
            board = self.store.board(board_id)
            section = self.store.section(board, section_id) if section_id else None
            pin = self.store.add_pin(board, section, image, **fields)
            return Response(201, self.store.pin_json(pin))

    def _image_from_source(self, source):
        if not isinstance(source, dict):
            raise bad_request("'media_source' is required.")
        kind = source.get("source_type")
        if kind == "image_url":
            return self._image_from_own_url(source.get("url"))
        if kind != "image_base64":
            raise bad_request(f"Unsupported media_source.source_type {kind!r}.")
        return self._decode_image(source.get("content_type"), source.get("data"))

    def _decode_image(self, content_type, data):
        if content_type not in ("image/jpeg", "image/png"):
            raise bad_request(f"Unsupported content_type {content_type!r}: use image/jpeg or image/png.")
        if not isinstance(data, str) or not data:
            raise ApiError(400, CODE_IMAGE_BROKEN, "Sorry, the image is broken: no data.")
        if data.startswith("data:") or "\n" in data or "\r" in data:
            raise ApiError(400, CODE_IMAGE_BROKEN,
                           "Sorry, the image is broken: data must be plain base64 (no data: prefix, no newlines).")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(400, CODE_IMAGE_BROKEN, f"Sorry, the image is broken: bad base64 ({exc}).")
        image, error = self.images.uploaded(raw, content_type)
        if error:
            raise ApiError(400, *error)
        return image

    def _image_from_own_url(self, url):
        """image_url sources work only for this server's own image URLs (there is no internet)."""
        found = IMAGE_URL.match(url) if isinstance(url, str) else None
        image = self.store.image_of(found.group(1)) if found else None
        if image is None:
            raise bad_request("Could not fetch the image at 'media_source.url'.")
        return image

    def _create_video_pin(self, req, source, board_id, section_id, fields):
        """A video pin from a media upload that has succeeded; a media id makes one pin."""
        media_id = id_value(source, "media_id")
        req.note["media_id"] = media_id
        frame = source.get("cover_image_key_frame_time", 0)
        if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
            raise bad_request("'cover_image_key_frame_time' must be a non-negative integer (seconds).")
        cover = None
        if source.get("cover_image_url") is not None:
            cover = self._image_from_own_url(source["cover_image_url"])
        elif source.get("cover_image_data") is not None:
            cover = self._decode_image(source.get("cover_image_content_type"), source["cover_image_data"])
        store = self.store
        with store.lock:
            board = store.board(board_id)
            section = store.section(board, section_id) if section_id else None
            media = self.media.claim(media_id)
            try:
                info = media.info
                video = PinVideo(media.video, info["duration"], info["width"], info["height"])
                image = cover or self.images.seeded(len(store.pin_list), f"video-{media_id}")
                pin = store.add_pin(board, section, image, video=video, **fields)
            except BaseException:
                self.media.release(media)
                raise
            self.media.attach(media, pin.id)
            return Response(201, store.pin_json(pin))

    def update_pin(self, req):
        body = req.json()
        only_fields(body, ("title", "description", "link", "alt_text", "board_id", "board_section_id"))
        fields = pin_text_fields(body)
        if "board_id" in body:
            fields["board_id"] = id_value(body, "board_id")
        if "board_section_id" in body:
            fields["board_section_id"] = id_value(body, "board_section_id", nullable=True)
        with self.store.lock:
            pin = self.store.pin(req.params["pin_id"])
            self.store.update_pin(pin, fields)
            return Response(200, self.store.pin_json(pin))

    def delete_pin(self, req):
        with self.store.lock:
            self.store.delete_pin(self.store.pin(req.params["pin_id"]))
            return Response(204)

    def save_pin(self, req):
        """Save a copy of a pin onto one of my boards (the copy shares the image)."""
        body = req.json()
        board_id = id_value(body, "board_id")
        section_id = id_value(body, "board_section_id", nullable=True)
        store = self.store
        with store.lock:
            source = store.pin(req.params["pin_id"])
            board = store.board(board_id)
            section = store.section(board, section_id) if section_id else None
            copy = store.add_pin(board, section, source.image, title=source.title,
                                 description=source.description, link=source.link,
                                 alt_text=source.alt_text, dominant_color=source.dominant_color,
                                 parent_pin_id=source.id, video=source.video, items=source.items)
            return Response(201, store.pin_json(copy))

    # ----- search ---------------------------------------------------------------------------
    def search_boards(self, req):
        with self.store.lock:
            boards = self.store.search_boards(req.arg("query", ""))
            return Response(200, paginate(req, boards, self.store.board_json))

    def search_pins(self, req):
        query = req.arg("query", "")
        if not query.strip():
            raise bad_request("'query' is required.")
        with self.store.lock:
            pins = self.store.search_pins(query)
            return Response(200, paginate(req, pins, self.store.pin_json, newest_first=True,
                                          page_size=SEARCH_PINS_PAGE))
