"""Injected faults: the next N requests on a route misbehave in a chosen way."""

import threading

# Actions that answer instead of performing the request, and those that perform it first.
BEFORE = {"status", "raw", "close", "delay"}
AFTER = {"close_after", "truncate", "stall"}


def validate(spec):
    """A clean copy of a fault spec from POST /_fake/faults; ValueError says what is wrong."""
    if not isinstance(spec, dict):
        raise ValueError("the body must be a JSON object")
    route, action = spec.get("route"), spec.get("action")
    if not isinstance(route, str) or " " not in route:
        raise ValueError("'route' must look like \"POST /v5/pins\" or \"GET /img\"")
    if action not in BEFORE | AFTER:
        raise ValueError(f"'action' must be one of {sorted(BEFORE | AFTER)}")
    count = spec.get("count", 1)
    if not isinstance(count, int) or count < 1:
        raise ValueError("'count' must be a positive integer")
    fault = {"route": route, "action": action, "count": count}
    if "path" in spec:
        # One request of the route: a fault meant for one board's listing is not taken by
        # another board listed beside it.
        if not isinstance(spec["path"], str) or not spec["path"].startswith("/"):
            raise ValueError("'path' must be a request path such as \"/v5/boards/1/pins\"")
        fault["path"] = spec["path"]
    if "source_type" in spec:
        # Only the POST /v5/pins requests whose media_source has this source_type ("video_id").
        if not isinstance(spec["source_type"], str):
            raise ValueError("'source_type' must be a media_source.source_type such as \"video_id\"")
        fault["source_type"] = spec["source_type"]
    if action in ("status", "raw"):
        if not isinstance(spec.get("status"), int) or not 100 <= spec["status"] <= 599:
            raise ValueError("'status' must be an HTTP status code")
        fault["status"] = spec["status"]
        fault["headers"] = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
    if action == "status":
        if "body" in spec and not isinstance(spec["body"], (dict, list)):
            raise ValueError("'body' must be a JSON object")
        fault["body"] = spec.get("body")
    if action == "raw":
        fault["body_text"] = str(spec.get("body_text", ""))
        repeat = spec.get("repeat", 1)
        if not isinstance(repeat, int) or not 1 <= repeat <= 1 << 20:
            raise ValueError("'repeat' must be an integer from 1 to 1048576")
        fault["repeat"] = repeat
    if action == "stall":
        if not isinstance(spec.get("bytes"), int) or spec["bytes"] < 0:
            raise ValueError("'bytes' must be a non-negative integer")
        if not isinstance(spec.get("ms"), (int, float)) or spec["ms"] < 0:
            raise ValueError("'ms' must be a non-negative number")
        fault["bytes"], fault["ms"] = spec["bytes"], spec["ms"]
    if action == "truncate":
        if not isinstance(spec.get("bytes"), int) or spec["bytes"] < 0:
            raise ValueError("'bytes' must be a non-negative integer")
        fault["bytes"] = spec["bytes"]
    if action == "delay":
        if not isinstance(spec.get("ms"), (int, float)) or spec["ms"] < 0:
            raise ValueError("'ms' must be a non-negative number")
        fault["ms"] = spec["ms"]
    return fault


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.pending = []

    def add(self, spec):
        fault = validate(spec)
        with self.lock:
            self.pending.append(fault)
        return dict(fault)

    def take(self, route, path=None, source_type=None):
        """The first pending fault for `route` (and `path`, or the body's media_source
        source_type, for a fault given one): one use of its count, or None."""
        with self.lock:
            for fault in self.pending:
                if fault["route"] == route and fault.get("path", path) == path and \
                        fault.get("source_type", source_type) == source_type:
                    fault["count"] -= 1
                    if fault["count"] == 0:
                        self.pending.remove(fault)
                    return fault
        return None

    def clear(self):
        with self.lock:
            self.pending.clear()

    def list(self):
        with self.lock:
            return [dict(f) for f in self.pending]
