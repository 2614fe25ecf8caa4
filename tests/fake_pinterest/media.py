"""Video media uploads, as Pinterest takes them in three steps.

1. `POST /v5/media {"media_type": "video"}` registers an upload: a media id, an `upload_url`
   and the S3 POST-policy `upload_parameters` to send with the file.
2. The file goes to `upload_url` (this server's `/_media_upload/`, a stand-in for the storage
   host: no Pinterest token there) as multipart/form-data: every parameter as a form field with
   its exact value (the signature is an HMAC of the others with a secret of this server), the
   `file` part last. 204 on success; S3-style XML errors otherwise; one upload per media id.
3. `GET /v5/media/{media_id}` says `registered`, then `processing` for a number of polls, then
   `succeeded` (`failed` when the bytes are no MP4/QuickTime file, or a test said so). A pin
   made with `media_source {"source_type": "video_id", "media_id"}` takes the bytes, once.
"""

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from dataclasses import dataclass
from xml.sax.saxutils import escape

from messages import ApiError, Response, bad_request
from multipart import Malformed, boundary_of, parse
from pagination import paginate
from store import IdMaker
from videos import FileVideo, probe

UPLOAD_PATH = "/_media_upload/"
BUCKET = "pinterest-media-upload"
ALGORITHM = "AWS4-HMAC-SHA256"
SIGNED_FIELDS = ("key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token")
FORM_FIELDS = SIGNED_FIELDS + ("x-amz-signature",)
CONTENT_TYPE = "multipart/form-data"
OUTCOMES = ("normal", "failed", "processing")   # how processing ends: as the bytes say, failed, never
MAX_FIELD = 64 << 10
CODE_MEDIA_NOT_FOUND = 404


@dataclass(eq=False)
class Media:
    id: str
    seq: int
    fields: dict                # the upload parameters but Content-Type
    processing_polls: int       # polls answered `processing` after the upload
    outcome: str                # one of OUTCOMES
    registered_at: float
    status: str = "registered"
    polls_left: int = 0
    uploading: bool = False     # an upload of it is being received
    video: object = None        # FileVideo once uploaded
    info: object = None         # videos.probe() of it: None when the bytes are no video
    uploads: int = 0            # uploads stored (0 or 1)
    refused_uploads: int = 0    # second (and later) uploads refused
    polls: int = 0              # GET /v5/media/{media_id} answered
    pin_id: object = None       # the pin made from it
    failure: object = None      # why it failed, for tests


def s3_error(status, code, message):
    """An S3-style XML error answer."""
    request_id = os.urandom(8).hex().upper()
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
            f"<HostId>pinfs-fake-storage</HostId></Error>")
    resp = Response(status, body.encode(), content_type="application/xml")
    resp.s3_code = code   # for the request log
    return resp


class Field:
    """Sink of a small form field."""

    def __init__(self):
        self.data = bytearray()

    def write(self, data):
        if len(self.data) + len(data) > MAX_FIELD:
            raise Malformed("a form field is larger than 64 KiB")
        self.data += data


class Discard:
    def write(self, data):
        pass


class MediaUploads:
    def __init__(self, user_id, processing_polls=1):
        self.lock = threading.Lock()
        self.user_id = user_id
        self.secret = os.urandom(32)
        self.new_id = IdMaker(5_212_123_000_000_000_000, "media")
        self.seq = 0
        self.by_id = {}
        self.items = []                     # by seq
        self.processing_polls = processing_polls
        self.outcome = "normal"             # for media registered from now on
        self.base_url = "http://127.0.0.1:0"

    # ----- registration and signatures ------------------------------------------------------
    def sign(self, fields):
        text = "\n".join(f"{name}:{fields[name]}" for name in SIGNED_FIELDS)
        return hmac.new(self.secret, text.encode(), hashlib.sha256).hexdigest()

    def register(self):
        now = time.time()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        with self.lock:
            self.seq += 1
            media_id = self.new_id()
            digest = hashlib.sha256(media_id.encode()).hexdigest()
            key = f"uploads/{digest[:2]}/{digest[2:4]}/{digest[4:6]}/3:video:{self.user_id}:{media_id}"
            policy = {"expiration": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + 3600)),
                      "conditions": [{"bucket": BUCKET}, {"key": key}, {"x-amz-algorithm": ALGORITHM},
                                     {"x-amz-credential": f"ASIAPINFSFAKE0STORAGE/{stamp[:8]}/us-east-1/s3/aws4_request"},
                                     {"x-amz-date": stamp},
                                     {"x-amz-security-token": base64.b64encode(os.urandom(48)).decode()},
                                     ["content-length-range", 1, 2 << 30]]}
            fields = {"key": key,
                      "policy": base64.b64encode(json.dumps(policy, separators=(",", ":")).encode()).decode()}
            for condition in policy["conditions"][2:6]:
                fields.update(condition)
            fields["x-amz-signature"] = self.sign(fields)
            media = Media(media_id, self.seq, fields, self.processing_polls, self.outcome, now)
            self.by_id[media_id] = media
            self.items.append(media)
            return media

    def media_json(self, media):
        return {"media_id": media.id, "media_type": "video", "status": media.status}

    def upload_json(self, media):
        return {"media_id": media.id, "media_type": "video", "upload_url": self.base_url + UPLOAD_PATH,
                "upload_parameters": {"Content-Type": CONTENT_TYPE, **media.fields}}

    # ----- status ----------------------------------------------------------------------------
    def final_status(self, media):
        if media.outcome == "failed":
            media.failure = media.failure or "made to fail by a test (POST /_fake/media/control)"
            return "failed"
        if media.info is None:
            media.failure = "the uploaded bytes are not an MP4/QuickTime video (no ftyp box of a video brand)"
            return "failed"
        media.failure = None
        return "succeeded"

    def poll(self, media):
        """One status request: processing counts down, then the outcome shows (lock held)."""
        media.polls += 1
        if media.status == "processing":
            if media.polls_left > 0:
                media.polls_left -= 1
            elif media.outcome != "processing":
                media.status = self.final_status(media)
        return media

    def get(self, media_id):
        media = self.by_id.get(media_id)
        if media is None:
            raise ApiError(404, CODE_MEDIA_NOT_FOUND, f"Media upload {media_id} not found.")
        return media

    # ----- the /v5 handlers ----------------------------------------------------------------------
    def api_create(self, req):
        body = req.json()
        if body.get("media_type") != "video" or set(body) != {"media_type"}:
            raise bad_request('Invalid media upload: the body must be {"media_type": "video"}.')
        media = self.register()
        req.note["media_id"] = media.id
        return Response(201, self.upload_json(media))

    def api_list(self, req):
        with self.lock:
            return Response(200, paginate(req, self.items, self.media_json, newest_first=True))

    def api_get(self, req):
        req.note["media_id"] = req.params["media_id"]
        with self.lock:
            return Response(200, self.media_json(self.poll(self.get(req.params["media_id"]))))

    # ----- pins made of media ------------------------------------------------------------------
    def claim(self, media_id):
        """The media for a new pin (lock it with release() or attach()); 400 unless succeeded
        and still unused."""
        with self.lock:
            media = self.by_id.get(media_id)
            if media is None:
                raise bad_request(f"Media upload {media_id} not found: register it with POST /v5/media.")
            if media.pin_id is not None:
                raise bad_request(f"Media upload {media_id} was already used for pin {media.pin_id}: "
                                  "a media upload makes one pin.")
            if media.status != "succeeded":
                raise bad_request(f"Media upload {media_id} is {media.status}, not succeeded: a pin can "
                                  "only be made once GET /v5/media/{media_id} says succeeded.")
            media.pin_id = "pending"
            return media

    def attach(self, media, pin_id):
        with self.lock:
            media.pin_id = pin_id

    def release(self, media):
        with self.lock:
            if media.pin_id == "pending":
                media.pin_id = None

    # ----- the storage host --------------------------------------------------------------------
    def receive(self, req, stream):
        """POST /_media_upload/: the multipart upload of a registered media's bytes."""
        try:
            return self._receive(req, stream)
        finally:
            stream.drain()   # an early answer must not leave the rest of the body unread

    def _receive(self, req, stream):
        if req.method != "POST":
            return s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
        if "authorization" in req.headers:
            return s3_error(400, "InvalidArgument", "The storage host takes no Authorization header: "
                            "send the upload_parameters only, never the Pinterest access token.")
        try:
            boundary = boundary_of(req.headers.get("content-type"))
        except Malformed:
            return s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not "
                            "hold: Bucket POST must be of the enclosure-type multipart/form-data.")
        fields, state = {}, {"media": None, "video": None, "refusal": None}

        def open_sink(name, filename, headers):
            if state["video"] is not None or state["refusal"]:
                state["refusal"] = state["refusal"] or s3_error(
                    403, "AccessDenied", "Invalid according to Policy: the file part must be the last part.")
                return Discard()
            if name.lower() != "file":
                sink = Field()
                fields.setdefault(name.lower(), []).append(sink)
                return sink
            values = {k: bytes(v[-1].data).decode("utf-8", "replace") for k, v in fields.items()}
            refusal, media = self._check_fields(values, fields)
            if refusal is None:
                with self.lock:
                    if media.uploads or media.uploading:
                        media.refused_uploads += 1
                        req.note.update(media_id=media.id, refused="second upload")
                        refusal = s3_error(403, "AccessDenied", f"Media upload {media.id} already has its "
                                           "upload: a media id takes one upload.")
                    else:
                        media.uploading = True
                        state["media"] = media
            if refusal is not None:
                state["refusal"] = refusal
                return Discard()
            state["video"] = FileVideo()
            return state["video"]

        try:
            parse(stream, boundary, open_sink)
        except Malformed as exc:
            state["refusal"] = state["refusal"] or s3_error(
                400, "MalformedPOSTRequest", f"The body of your POST request is not well-formed multipart/form-data: {exc}.")
        media, video = state["media"], state["video"]
        if state["refusal"] is None and video is None:
            state["refusal"] = s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
        if state["refusal"] is not None or media is None:
            req.note.setdefault("refused", getattr(state["refusal"], "s3_code", "InvalidArgument"))
            if video is not None:
                video.close()
            if media is not None:
                with self.lock:
                    media.uploading = False
            return state["refusal"] or s3_error(400, "InvalidArgument", "No upload.")
        video.finish()
        info = probe(video)
        with self.lock:
            media.uploading = False
            media.video, media.info, media.uploads = video, info, 1
            media.status, media.polls_left = "processing", media.processing_polls
        req.note.update(media_id=media.id, bytes=video.size)
        return Response(204)

    def _check_fields(self, values, fields):
        """(refusal or None, media) for the form fields sent before the file part."""
        media_id = values.get("key", "").rsplit(":", 1)[-1]
        for name, found in fields.items():
            if len(found) > 1:
                return s3_error(400, "InvalidArgument", f"The form field {name} is given more than once."), None
        for name in values:
            if name not in FORM_FIELDS and name != "content-type":
                return s3_error(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {name}"), None
        if "content-type" in values and values["content-type"] != CONTENT_TYPE:
            return s3_error(403, "AccessDenied", 'Invalid according to Policy: Policy Condition failed: '
                            f'["eq", "$Content-Type", "{CONTENT_TYPE}"]'), None
        for name in FORM_FIELDS:
            if name not in values:
                return s3_error(403, "AccessDenied", f"Invalid according to Policy: the form field {name} is missing."), None
        with self.lock:
            media = self.by_id.get(media_id)
        if media is None:
            return s3_error(403, "AccessDenied", "No media upload is registered for this key."), None
        for name in SIGNED_FIELDS:
            if values[name] != media.fields[name]:
                return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed: "
                                f'["eq", "${name}", "{media.fields[name]}"]'), None
        if not hmac.compare_digest(values["x-amz-signature"], self.sign(values)):
            return s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match "
                            "the signature you provided."), None
        return None, media

    # ----- test controls -----------------------------------------------------------------------
    def admin_json(self, media):
        video = media.video
        return {"media_id": media.id, "status": media.status, "outcome": media.outcome,
                "processing_polls": media.processing_polls, "polls_left": media.polls_left,
                "polls": media.polls, "uploads": media.uploads, "refused_uploads": media.refused_uploads,
                "size": video.size if video else None,
                "sha256": video.sha256() if video else None,
                "brand": media.info["brand"] if media.info else None,
                "pin_id": media.pin_id, "failure": media.failure}

    def admin_list(self):
        with self.lock:
            items = list(self.items)
            settings = {"processing_polls": self.processing_polls, "outcome": self.outcome}
        return dict(settings, media=[self.admin_json(m) for m in items])

    def settings(self, body):
        """Defaults for media registered from now on: processing_polls and outcome."""
        polls, outcome = check_controls(body)
        with self.lock:
            if polls is not None:
                self.processing_polls = polls
            if outcome is not None:
                self.outcome = outcome
            return {"processing_polls": self.processing_polls, "outcome": self.outcome}

    def control(self, body):
        """One media's processing_polls and outcome; a finished one takes a new outcome at once."""
        polls, outcome = check_controls(body)
        with self.lock:
            media = self.by_id.get(str(body.get("media_id")))
            if media is None:
                return None
            if polls is not None:
                media.processing_polls = polls
                if media.status == "processing":
                    media.polls_left = polls
            if outcome is not None:
                media.outcome = outcome
                if media.status in ("succeeded", "failed"):
                    media.status = "processing" if outcome == "processing" else self.final_status(media)
        return self.admin_json(media)


def check_controls(body):
    polls, outcome = body.get("processing_polls"), body.get("outcome")
    if polls is not None and (not isinstance(polls, int) or isinstance(polls, bool) or polls < 0):
        raise ValueError("'processing_polls' must be a non-negative integer")
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"'outcome' must be one of {list(OUTCOMES)}")
    return polls, outcome
