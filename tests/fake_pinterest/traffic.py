"""What the fake saw (per-route counts and a request log) and its rate limiter."""

import collections
import threading
import time

LOG_LIMIT = 100_000


class TrafficLog:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.entries = collections.deque(maxlen=LOG_LIMIT)

    def record(self, method, route, path, query, status, fault=None, byte_range=None, note=None):
        entry = {"t": time.time(), "method": method, "route": route, "path": path,
                 "query": query, "status": status, **(note or {})}
        if fault:
            entry["fault"] = fault
        if byte_range:
            entry["range"] = byte_range
        with self.lock:
            self.counts[route] += 1
            self.entries.append(entry)

    def summary(self):
        with self.lock:
            return {"counts": dict(self.counts), "total": sum(self.counts.values())}

    def requests(self):
        with self.lock:
            return {"requests": list(self.entries)}

    def reset(self):
        with self.lock:
            self.counts.clear()
            self.entries.clear()


class RateLimiter:
    """At most `rps` accepted requests in any sliding one-second window (0 = unlimited)."""

    def __init__(self, rps):
        self.rps = rps
        self.lock = threading.Lock()
        self.accepted = collections.deque()

    def allow(self):
        if not self.rps:
            return True
        now = time.monotonic()
        with self.lock:
            while self.accepted and now - self.accepted[0] >= 1.0:
                self.accepted.popleft()
            if len(self.accepted) >= self.rps:
                return False
            self.accepted.append(now)
            return True
