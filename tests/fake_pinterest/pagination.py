"""Pinterest-style pages: `page_size` 1..250 and an opaque `bookmark` cursor.

The bookmark carries the sort key (`seq`) of the last item served plus a fingerprint of the
query, so it stays valid when items are added or deleted between pages (a position offset
would skip items when a client deletes while listing) and is refused for another query.
"""

import base64
import bisect
import hashlib
import json

from messages import bad_request

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 250


def page_size_of(req):
    raw = req.arg("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise bad_request(f"Parameter 'page_size' was not numeric (was {raw})")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_request(f"Parameter 'page_size' must be between 1 and {MAX_PAGE_SIZE} (was {size}).")
    return size


def fingerprint(req):
    """Identifies "the same query": route, path parameters, query minus bookmark and page_size."""
    query = sorted((k, v) for k, vs in req.query.items() if k not in ("bookmark", "page_size") for v in vs)
    text = json.dumps([req.route, sorted(req.params.items()), query])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_bookmark(after, fp):
    raw = json.dumps({"after": after, "q": fp}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_bookmark(req):
    """The cursor from the request's bookmark, or None on the first page."""
    token = req.arg("bookmark")
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after, fp = data["after"], data["q"]
        if not isinstance(after, int):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise bad_request("Invalid bookmark.")
    if fp != fingerprint(req):
        raise bad_request("Bookmark does not belong to this query.")
    return after


def paginate(req, items, render, newest_first=False, page_size=None):
    """One page of `items` (sorted by ascending seq) as {"items", "bookmark"}."""
    size = page_size or page_size_of(req)
    after = decode_bookmark(req)
    key = lambda obj: obj.seq
    if newest_first:
        end = len(items) if after is None else bisect.bisect_left(items, after, key=key)
        chunk = items[max(0, end - size):end][::-1]
        more = end > size
    else:
        start = 0 if after is None else bisect.bisect_right(items, after, key=key)
        chunk = items[start:start + size]
        more = start + size < len(items)
    bookmark = encode_bookmark(chunk[-1].seq, fingerprint(req)) if more else None
    return {"items": [render(obj) for obj in chunk], "bookmark": bookmark}
