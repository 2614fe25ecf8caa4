"""Request, response and error types shared by the fake server's modules."""

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs

# Pinterest error codes the fake uses (see NOTES.md and the spec's examples).
CODE_INVALID = 1
CODE_AUTH = 2
CODE_RATE_LIMIT = 8
CODE_NOT_PERMITTED = 29
CODE_USER_NOT_FOUND = 30
CODE_BOARD_NOT_FOUND = 40
CODE_PIN_NOT_FOUND = 50
CODE_IMAGE_TOO_SMALL = 233
CODE_IMAGE_BROKEN = 235
CODE_SECTION_NOT_FOUND = 2031


class ApiError(Exception):
    """Raised by handlers; the server turns it into {"code", "message"} with `status`."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self):
        return Response(self.status, {"code": self.code, "message": self.message})


def bad_request(message):
    return ApiError(400, CODE_INVALID, message)


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: dict          # lower-cased header names
    body: bytes
    params: dict = field(default_factory=dict)   # path parameters of the matched route
    route: str = ""                              # "GET /v5/boards/{board_id}"

    @property
    def query(self):
        """Query parameters as {name: [values]} (blank values kept)."""
        return parse_qs(self.query_string, keep_blank_values=True)

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self):
        """The body as a JSON object; 400 when it is missing or not an object."""
        try:
            value = json.loads(self.body or b"null")
        except ValueError as exc:
            raise bad_request(f"Request body is not valid JSON: {exc}")
        if not isinstance(value, dict):
            raise bad_request("Request body must be a JSON object.")
        return value


@dataclass
class Response:
    status: int
    body: object = None          # JSON-able value, bytes, or None for no body
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self):
        """The body as bytes (JSON-encoded unless already bytes), encoded once: the answer
        and its OpenAPI check both want it, and a page of 250 pins takes milliseconds."""
        if self.body is None:
            return b""
        if isinstance(self.body, (bytes, bytearray)):
            return bytes(self.body)
        cached = self.__dict__.get("_payload")
        if cached is None or cached[0] is not self.body:
            cached = (self.body, encode_json(self.body))
            self.__dict__["_payload"] = cached
        return cached[1]


def encode_json(value):
    """UTF-8 JSON; a text holding a lone surrogate (a name made with "\\ud83c" through an admin
    route: an emoji cut in half) cannot be UTF-8, so such an answer is sent \\u-escaped, which
    is what a server that cut a UTF-16 string sends."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()
