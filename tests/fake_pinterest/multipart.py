"""Request bodies read as streams, and a streaming multipart/form-data parser.

A media upload can be gigabytes: its body is never held in memory whole. `BodyReader` hands out
the body of one request (Content-Length or chunked) piece by piece, and `parse` walks the parts
of a multipart/form-data body, giving each part's bytes to a sink chosen for it (a small form
field is kept in memory, a file part goes straight to a file).
"""

import re

CHUNK = 1 << 20
MAX_HEADER_BYTES = 16 << 10
BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))', re.I)
DISPOSITION_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]+))')


class Malformed(ValueError):
    """The body is not the multipart/form-data it claims to be."""


class BodyReader:
    """The body of one request on `rfile`: read(n) returns at most n bytes, b"" at its end."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self.left = 0 if self.chunked else int(headers.get("content-length") or 0)
        self.done = not self.chunked and self.left <= 0
        self.received = 0

    def read(self, n=CHUNK):
        if self.done:
            return b""
        if self.chunked and self.left == 0:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass   # trailers
                self.done = True
                return b""
            self.left = size
        data = self.rfile.read(min(n, self.left))
        if not data:
            raise Malformed("the client stopped sending before the end of the body")
        self.left -= len(data)
        self.received += len(data)
        if self.left == 0:
            if self.chunked:
                self.rfile.readline()   # the CRLF after a chunk
            else:
                self.done = True
        return data

    def read_all(self):
        parts = []
        while True:
            data = self.read()
            if not data:
                return b"".join(parts)
            parts.append(data)

    def drain(self):
        """Read and forget the rest (so an early answer leaves the connection usable)."""
        while self.read():
            pass


def boundary_of(content_type):
    """The boundary of a multipart/form-data Content-Type, as bytes; Malformed otherwise."""
    media = (content_type or "").split(";")[0].strip().lower()
    found = BOUNDARY.search(content_type or "")
    if media != "multipart/form-data" or not found:
        raise Malformed(f"Content-Type must be multipart/form-data with a boundary, not {content_type!r}")
    return (found.group(1) or found.group(2)).encode("latin-1")


def part_headers(block):
    """{lower-case name: value} of one part's header block."""
    headers = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise Malformed(f"bad part header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def disposition(headers):
    """(name, filename or None) from a part's Content-Disposition: form-data header."""
    value = headers.get("content-disposition", "")
    if value.split(";")[0].strip().lower() != "form-data":
        raise Malformed("every part needs Content-Disposition: form-data")
    params = {}
    for key, quoted, plain in DISPOSITION_PARAM.findall(value):
        params[key.lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted or not plain else plain
    if "name" not in params:
        raise Malformed("a part has no name")
    return params["name"], params.get("filename")


class Parser:
    def __init__(self, stream, boundary):
        self.stream = stream
        self.delimiter = b"\r\n--" + boundary
        self.buf = bytearray(b"\r\n")   # so the first boundary looks like every later one

    def more(self):
        data = self.stream.read(CHUNK)
        if not data:
            raise Malformed("the body ends before the closing boundary")
        self.buf += data

    def find(self, needle, limit=None):
        """Index of `needle` in the buffer, reading on as needed (Malformed past `limit`)."""
        start = 0
        while True:
            index = self.buf.find(needle, start)
            if index >= 0:
                return index
            if limit is not None and len(self.buf) > limit:
                raise Malformed("a part's headers are too long")
            start = max(0, len(self.buf) - len(needle) + 1)
            self.more()

    def need(self, count):
        while len(self.buf) < count:
            self.more()

    def copy_part(self, sink):
        """Part bytes up to the next delimiter into sink.write(); the buffer then starts at it."""
        keep = len(self.delimiter) - 1
        while True:
            index = self.buf.find(self.delimiter)
            if index >= 0:
                sink.write(bytes(self.buf[:index]))
                del self.buf[:index]
                return
            if len(self.buf) > keep:
                sink.write(bytes(self.buf[:-keep]))
                del self.buf[:-keep]
            self.more()


def parse(stream, boundary, open_sink):
    """Walk a multipart/form-data body from `stream` (read(n)).

    open_sink(name, filename, headers) -> an object with write(bytes) for that part's content.
    Returns [(name, filename)] in body order. Raises Malformed. Reads the stream to the closing
    boundary (not beyond: an epilogue is left unread, so callers drain the stream).
    """
    parser = Parser(stream, boundary)
    start = parser.find(parser.delimiter)   # anything before the first boundary is preamble
    del parser.buf[:start]
    parts = []
    while True:
        parser.need(len(parser.delimiter) + 2)
        after = bytes(parser.buf[len(parser.delimiter):len(parser.delimiter) + 2])
        if after == b"--":
            return parts
        if after != b"\r\n":
            raise Malformed("a boundary line is followed by something other than CRLF")
        del parser.buf[:len(parser.delimiter) + 2]
        end = parser.find(b"\r\n\r\n", limit=MAX_HEADER_BYTES)
        headers = part_headers(bytes(parser.buf[:end]))
        del parser.buf[:end + 4]
        name, filename = disposition(headers)
        parts.append((name, filename))
        parser.copy_part(open_sink(name, filename, headers))
