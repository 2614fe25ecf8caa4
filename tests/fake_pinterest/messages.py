"""Request, response and error types shared by the fake server's modules."""

import hashlib
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
    note: dict = field(default_factory=dict)     # what the request log should also say
    stream: object = None                        # multipart.BodyReader of the body

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
    body: object = None          # JSON-able value, bytes, a Blob, or None for no body
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self):
        """The body as bytes (JSON-encoded unless already bytes), encoded once: the answer
        and its OpenAPI check both want it, and a page of 250 pins takes milliseconds."""
        if self.body is None:
            return b""
        if isinstance(self.body, (bytes, bytearray)):
            return bytes(self.body)
        if isinstance(self.body, Blob):
            return self.body.bytes()
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


class Blob:
    """A body made or read on demand instead of held as bytes (a video: maybe gigabytes).

    Subclasses give `size` and read(offset, length); the server sends one in pieces.
    """
    size = 0
    piece = 1 << 20

    def read(self, offset, length):
        raise NotImplementedError

    def pieces(self, start=0, end=None):
        """The bytes from `start` to `end` (exclusive, default the end) in pieces."""
        end = self.size if end is None else end
        while start < end:
            count = min(self.piece, end - start)
            data = self.read(start, count)
            if not data:
                return
            yield data
            start += len(data)

    def bytes(self):
        return b"".join(self.pieces())

    def sha256(self):
        digest = hashlib.sha256()
        for data in self.pieces():
            digest.update(data)
        return digest.hexdigest()


class BlobRange(Blob):
    """Bytes start..end (inclusive) of another blob: a 206 answer's body."""

    def __init__(self, blob, start, end):
        self.blob, self.start, self.size = blob, start, end - start + 1

    def read(self, offset, length):
        return self.blob.read(self.start + offset, min(length, self.size - offset))
