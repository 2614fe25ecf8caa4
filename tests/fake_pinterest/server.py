#!/usr/bin/python3
"""A fake Pinterest REST API v5 for testing pinfs.

    server.py --port PORT --token TOKEN --seed boards=B,pins=P,sections=S[,big=N]
              [--latency-ms MS] [--rate-limit RPS] [--image-scale F] [--media-processing-polls N]
              [--client-id ID --client-secret SECRET] [--tls-cert PEM --tls-key PEM]

Serves the API under http://127.0.0.1:PORT/v5 (https with --tls-cert), pin images under /img/,
videos under /vid/, the media upload storage host under /_media_upload/, redirects under /redirect?to=URL, the OAuth authorize step under /oauth/ and test controls
under /_fake/. With --port 0 the first line on stdout is the API base URL, printed once the
socket listens. Logs go to stderr.
"""

import argparse
import json
import re
import signal
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import admin
import seed
from api import Api
from faults import Faults
from images import FORMATS, SIZE_KEYS, Images
from media import UPLOAD_PATH, MediaUploads
from messages import ApiError, Blob, BlobRange, CODE_AUTH, CODE_RATE_LIMIT, Request, Response
from multipart import BodyReader, Malformed
from oauth import Tokens
from openapi_check import Violations, find_spec
from traffic import RateLimiter, TrafficLog

IMAGE_PATH = re.compile(r"^/img/([^/]+)/(\d+(?:-\d+)?)\.(jpg|png)$")
VIDEO_PATH = re.compile(r"^/vid/(\d+(?:-\d+)?)\.mp4$")
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class App:
    """Everything a request handler needs, built once from the command line."""

    def __init__(self, args):
        self.spec_path = find_spec()
        self.violations = Violations(self.spec_path)   # forks: must come before any thread
        self.images = Images(scale=args.image_scale)
        self.store = seed.build(args.seed, self.images)
        self.tokens = Tokens(args.token, args.client_id, args.client_secret)
        self.media = MediaUploads(self.store.me["id"], args.media_processing_polls)
        self.api = Api(self.store, self.images, self.tokens, self.media)
        self.faults = Faults()
        self.traffic = TrafficLog()
        self.limiter = RateLimiter(args.rate_limit)
        self.latency_ms = args.latency_ms
        self.verbose = args.verbose
        self.stop_requested = False


def classify(app, method, path):
    """(kind, route for counts and faults, spec path template, handler, path params).

    kind is "api", "image", "video", "upload", "authorize", "redirect" or "unknown"; the route is
    e.g. "GET /v5/pins/{pin_id}", "HEAD /img", "GET /vid" or "POST /_media_upload".
    """
    if path.startswith("/v5/"):
        template, handler, params = app.api.router.match(method, path[3:])
        return "api", f"{method} /v5{template or '/(unknown)'}", template or path[3:], handler, params
    if path.startswith("/img/"):
        return "image", f"{method} /img", None, None, {}
    if path.startswith("/vid/"):
        return "video", f"{method} /vid", None, None, {}
    if path == UPLOAD_PATH or path == UPLOAD_PATH.rstrip("/"):
        return "upload", f"{method} /_media_upload", None, None, {}
    if path in ("/oauth", "/oauth/"):
        return "authorize", "GET /oauth/", None, None, {}
    if path == "/redirect":
        return "redirect", f"{method} /redirect", None, None, {}
    return "unknown", f"{method} (unknown)", None, None, {}


def error_response(status, code, message):
    return Response(status, {"code": code, "message": message})


def fault_response(fault):
    """The answer a "status" or "raw" fault gives instead of performing the request."""
    status = fault["status"]
    if fault["action"] == "raw":
        return Response(status, fault["body_text"].encode() * fault["repeat"], fault["headers"])
    body = fault["body"]
    if body is None and status != 204:
        body = {"code": CODE_RATE_LIMIT if status == 429 else status, "message": f"Injected fault: HTTP {status}."}
    return Response(status, body, fault["headers"])


def byte_range(header, size):
    """(start, end) inclusive for a single `Range: bytes=...`, None to ignore it, or 'bad' (416)."""
    found = RANGE.match(header.strip()) if header else None
    if not found or found.groups() == ("", ""):
        return None   # absent, multi-range or malformed: RFC 9110 lets us send the whole thing
    first, last = found.groups()
    if first == "":
        length = int(last)
        return (max(0, size - length), size - 1) if length and size else "bad"
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start < size and start <= end else "bad"


def image_response(app, req):
    found = IMAGE_PATH.match(req.path)
    image = app.store.image_of(found.group(2)) if found and found.group(1) in SIZE_KEYS else None
    if image is None or FORMATS[image.fmt][1] != found.group(3):
        return Response(404, b"Not Found", content_type="text/plain")
    return ranged_response(req, image.data(found.group(1)), FORMATS[image.fmt][0])


def video_response(app, req):
    found = VIDEO_PATH.match(req.path)
    video = app.store.video_of(found.group(1)) if found else None
    if video is None:
        return Response(404, b"Not Found", content_type="text/plain")
    return ranged_response(req, video.blob, "video/mp4")


def ranged_response(req, data, content_type):
    """A CDN's answer with `data` (bytes or a Blob): whole, one Range (206) or 416."""
    size = data.size if isinstance(data, Blob) else len(data)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=31536000"}
    span = byte_range(req.headers.get("range"), size)
    if span == "bad":
        return Response(416, b"", dict(headers, **{"Content-Range": f"bytes */{size}"}), content_type)
    if span is None:
        return Response(200, data, headers, content_type)
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    part = BlobRange(data, start, end) if isinstance(data, Blob) else data[start:end + 1]
    return Response(206, part, headers, content_type)


def media_source_type(req):
    """media_source.source_type of a POST /v5/pins body (faults can be meant for one), or None."""
    if req.route != "POST /v5/pins":
        return None
    try:
        return json.loads(req.body)["media_source"]["source_type"]
    except (ValueError, KeyError, TypeError):
        return None


def perform(app, req, kind, handler):
    """Answer a request for real (after latency and any "before" fault)."""
    if kind in ("image", "video"):
        if req.method not in ("GET", "HEAD"):
            return error_response(405, 405, "Method not allowed.")
        return image_response(app, req) if kind == "image" else video_response(app, req)
    if kind == "upload":
        return app.media.receive(req, req.stream)
    if kind == "redirect":
        # Any URL at all, file:// included: what a hostile CDN could answer.
        target = req.arg("to")
        if req.method not in ("GET", "HEAD") or not target:
            return error_response(400, 400, "GET /redirect?to=URL")
        return Response(302, b"", {"Location": target}, "text/plain")
    if kind == "authorize":
        return app.tokens.authorize(req) if req.method == "GET" else error_response(405, 405, "Method not allowed.")
    if kind == "unknown":
        return error_response(404, 404, f"Not found: {req.path}")
    if not app.limiter.allow():
        return error_response(429, CODE_RATE_LIMIT, "This request exceeded a rate limit. Slow down.")
    if handler is None:
        known = not req.route.endswith("/(unknown)")
        return error_response(405 if known else 404, 405 if known else 404,
                              "Method not allowed." if known else f"Not found: {req.path}")
    if req.route != "POST /v5/oauth/token" and not app.tokens.accepts(req.headers.get("authorization")):
        return error_response(401, CODE_AUTH, "Authentication failed.")
    return handler(req)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"      # keep-alive: every answer carries Content-Length
    disable_nagle_algorithm = True     # headers and body go out as separate writes

    def do_GET(self):
        try:
            self.dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_HEAD = do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

    def handle(self):
        try:
            super().handle()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            self.close_connection = True   # a client that refused our certificate, or hung up

    def log_message(self, fmt, *args):
        if self.server.app.verbose:
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    def dispatch(self):
        app = self.server.app
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        stream = BodyReader(self.rfile, headers)
        streamed = parts.path.startswith(UPLOAD_PATH.rstrip("/"))   # a media upload: maybe gigabytes
        try:
            req = Request(self.command, parts.path, parts.query, headers, b"" if streamed else stream.read_all())
        except Malformed:
            self.close_connection = True
            return
        req.stream = stream
        if req.path.startswith("/_fake/"):
            self.send(self.perform_safely(lambda: admin.handle(app, req)))
            if app.stop_requested:
                threading.Thread(target=self.server.shutdown, daemon=True).start()
            return
        kind, req.route, template, handler, req.params = classify(app, req.method, req.path)
        if app.latency_ms:
            time.sleep(app.latency_ms / 1000)
        fault = app.faults.take(req.route, req.path, media_source_type(req))
        action = fault["action"] if fault else None
        if action == "delay":
            time.sleep(fault["ms"] / 1000)
        if action == "close":
            self.finish_exchange(app, req, kind, template, None, action)
            self.close_connection = True
            return
        if action in ("status", "raw"):
            resp = fault_response(fault)
        else:
            resp = self.perform_safely(lambda: perform(app, req, kind, handler))
        try:
            stream.drain()   # an upload answered without reading it all (a fault, a refusal)
        except Malformed:
            self.close_connection = True
        self.finish_exchange(app, req, kind, template, resp, action)
        if action == "close_after":
            self.close_connection = True   # performed, but the answer is lost
        elif action == "stall":
            self.send(resp, stall=(fault["bytes"], fault["ms"]))
        else:
            self.send(resp, truncate=fault["bytes"] if action == "truncate" else None)

    @staticmethod
    def perform_safely(work):
        """work() as a Response: ApiError becomes its error body, a bug a logged 500."""
        try:
            return work()
        except ApiError as exc:
            return exc.response()
        except Exception:
            traceback.print_exc()
            return error_response(500, 500, "Internal error in the fake server.")

    def finish_exchange(self, app, req, kind, template, resp, action):
        """Count and log the request, and queue the OpenAPI check of an API exchange."""
        status = resp.status if resp else None
        app.traffic.record(req.method, req.route, req.path, req.query_string, status, action,
                           req.headers.get("range"), req.note)
        if kind == "api":
            # injected answers are the test's own doing, not the fake's shapes
            check_response = resp is not None and action not in ("status", "raw")
            app.violations.submit({
                "method": req.method, "route": req.route, "template": template, "path": req.path,
                "params": req.params, "query": req.query_string,
                "request_type": req.headers.get("content-type"), "request_body": req.body,
                "status": status, "response_type": resp.content_type if resp else None,
                # (a large injected answer is not shipped to the checker for nothing)
                "response_body": resp.payload() if check_response else b"",
                "check_response": check_response,
            })

    def send(self, resp, truncate=None, stall=None):
        if isinstance(resp.body, Blob):   # a video: sent piece by piece, never whole in memory
            size, pieces = resp.body.size, resp.body.pieces
        else:
            payload = resp.payload()
            size, pieces = len(payload), lambda start, end: [payload[start:end]]
        self.send_response(resp.status)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        if resp.status != 204:   # RFC 9110: no Content-Length on 204
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD" or resp.status == 204:
            return
        end = size
        if truncate is not None:
            end = min(truncate, size)
            self.close_connection = True
        start = 0
        if stall is not None:
            # The first bytes, then nothing for a while, then the rest (if anyone still listens).
            start = min(stall[0], size)
            for data in pieces(0, start):
                self.wfile.write(data)
            self.wfile.flush()
            time.sleep(stall[1] / 1000)
        for data in pieces(start, end):
            self.wfile.write(data)


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128   # pinfs fires many HEADs at once


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Fake Pinterest API v5 server for pinfs tests.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", required=True, help="access token accepted as Bearer")
    parser.add_argument("--seed", default="sample", help="'sample' or boards=B,pins=P,sections=S[,big=N]")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=0.0, help="requests per second, 0 = none")
    parser.add_argument("--image-scale", type=float, default=1.0)
    parser.add_argument("--media-processing-polls", type=int, default=1,
                        help="status polls a media upload answers `processing` before it is done")
    parser.add_argument("--client-id", default="fake-client")
    parser.add_argument("--client-secret", default="fake-secret")
    parser.add_argument("--tls-cert", help="serve https with this PEM certificate (chain)")
    parser.add_argument("--tls-key", help="the certificate's PEM private key")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    try:
        if args.seed != "sample":
            seed.parse_spec(args.seed)
    except ValueError as exc:
        parser.error(f"--seed: {exc}")
    if args.image_scale <= 0:
        parser.error("--image-scale must be positive")
    if args.media_processing_polls < 0:
        parser.error("--media-processing-polls must be 0 or more")
    return args


def main(argv=None):
    args = parse_args(argv)
    # SIGTERM exits normally, so the checker process is stopped with us.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    started = time.monotonic()
    app = App(args)
    server = FakeServer(("127.0.0.1", args.port), Handler)
    server.app = app
    scheme = "http"
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake happens in each connection's own thread, at its first read, so a
        # client that connects and says nothing cannot hold up the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
        scheme = "https"
    port = server.server_address[1]
    app.store.base_url = app.media.base_url = f"{scheme}://127.0.0.1:{port}"
    print(f"{scheme}://127.0.0.1:{port}/v5", flush=True)
    sys.stderr.write(f"fake pinterest: {len(app.store.board_list)} boards, {len(app.store.pin_list)} pins, "
                     f"seeded in {time.monotonic() - started:.2f}s; OpenAPI checks "
                     f"{'on (' + str(app.spec_path) + ')' if app.spec_path else 'off (spec not found)'}\n")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
