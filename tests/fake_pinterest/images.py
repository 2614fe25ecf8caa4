"""Pin images: deterministic seeded pictures, uploaded ones, and their scaled sizes.

Generating a picture per pin would make a HEAD sweep over a 10 000-pin board take minutes of
CPU, so seeded pins draw on a small pool of generated base pictures (gradients plus seeded
noise, so JPEG cannot squeeze them to nothing). Each pin gets its own bytes by splicing a
pin-specific comment block with random padding into the file (a JPEG COM segment or a private
PNG chunk): the file stays a valid image with the pool picture's pixels, while its length and
hash differ per pin. That splice is cheap, so HEAD and GET cost about a memory copy.
"""

import io
import random
import struct
import threading
import zlib
from collections import OrderedDict

from PIL import Image, ImageOps

from messages import CODE_IMAGE_BROKEN, CODE_IMAGE_TOO_SMALL

SIZE_KEYS = ("150x150", "400x300", "600x", "1200x", "originals")
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
POOL_SIZE = 48          # pool pictures at --image-scale 1; fewer when scaled up, to bound memory
MIN_UPLOAD_SIDE = 10


def derived_size(key, width, height):
    """Pixel size of size `key` for an original of width x height (the API reports these)."""
    if key == "150x150":
        return 150, 150
    if key == "400x300":
        return 400, 300
    if key in ("600x", "1200x"):
        limit = int(key[:-1])
        if width <= limit:
            return width, height
        return limit, max(1, round(height * limit / width))
    return width, height


def encode(img, fmt):
    out = io.BytesIO()
    if fmt == "JPEG":
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.save(out, "JPEG", quality=85)
    else:
        img.save(out, "PNG")
    return out.getvalue()


def scale_from_original(data, fmt, key):
    """Encode size `key` of the original image bytes `data` (used for seeded and uploaded)."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        if img.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            img = img.convert("RGB")   # e.g. CMYK JPEGs or 16-bit PNGs, which resize poorly
        size = derived_size(key, *img.size)
        if key in ("150x150", "400x300"):
            scaled = ImageOps.fit(img, size, Image.LANCZOS)
        else:
            scaled = img.resize(size, Image.LANCZOS) if size != img.size else img.copy()
    return encode(scaled, fmt)


def make_picture(rng, width, height, fmt):
    """A gradient with coloured blobs; JPEGs also get fine noise so they keep some bulk."""
    corners = Image.frombytes("RGB", (2, 2), rng.randbytes(12))
    img = corners.resize((width, height), Image.BILINEAR)
    bw, bh = max(2, width // 24), max(2, height // 24)
    blobs = Image.frombytes("RGB", (bw, bh), rng.randbytes(bw * bh * 3))
    img = Image.blend(img, blobs.resize((width, height), Image.BICUBIC), 0.35)
    if fmt == "JPEG":
        noise = Image.frombytes("L", (width, height), rng.randbytes(width * height))
        img = Image.blend(img, noise.convert("RGB"), 0.05)
    return encode(img, fmt)


def splice_marker(data, fmt, salt, key):
    """Insert a block unique to (salt, key) that image decoders skip: varies length and hash."""
    rng = random.Random(f"{salt}:{key}")
    payload = f"pinfs fake image {salt} {key}\n".encode() + rng.randbytes(rng.randrange(len(data) // 4 + 1))
    if fmt == "JPEG":
        segments = []
        for start in range(0, len(payload), 65533):
            part = payload[start:start + 65533]
            segments.append(b"\xff\xfe" + struct.pack(">H", len(part) + 2) + part)
        return data[:2] + b"".join(segments) + data[2:]
    # PNG: a private, ancillary, safe-to-copy chunk right after IHDR (8 + 25 bytes in).
    chunk_type = b"pnFz"
    chunk = struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", zlib.crc32(chunk_type + payload))
    return data[:33] + chunk + data[33:]


class ByteLRU:
    """A thread-safe LRU of bytes values bounded by total size; builds missing entries once."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self.total = 0
        self.items = OrderedDict()
        self.lock = threading.Lock()
        self.building = {}  # key -> Lock, so concurrent misses on one key build it once

    def get_or_build(self, key, build):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            key_lock = self.building.setdefault(key, threading.Lock())
        with key_lock:
            with self.lock:
                if key in self.items:
                    return self.items[key]
            value = build()
            with self.lock:
                self.items[key] = value
                self.total += len(value)
                self.building.pop(key, None)
                while self.total > self.max_bytes and len(self.items) > 1:
                    _, old = self.items.popitem(last=False)
                    self.total -= len(old)
            return value


class SeededImage:
    """A seeded pin's picture: pool base `base` made unique by `salt` (the first pin's id)."""
    __slots__ = ("images", "base", "salt")

    def __init__(self, images, base, salt):
        self.images, self.base, self.salt = images, base, salt

    @property
    def fmt(self):
        return self.images.pool_spec(self.base)[0]

    def size(self, key):
        _, width, height = self.images.pool_spec(self.base)
        return derived_size(key, width, height)

    def data(self, key):
        return splice_marker(self.images.pool_bytes(self.base, key), self.fmt, self.salt, key)


class UploadedImage:
    """An uploaded picture: `originals` serves exactly the uploaded bytes."""
    __slots__ = ("images", "original", "fmt", "width", "height", "token")

    def __init__(self, images, original, fmt, width, height):
        self.images, self.original, self.fmt = images, original, fmt
        self.width, self.height = width, height
        self.token = object()  # identity for the cache key

    def size(self, key):
        return derived_size(key, self.width, self.height)

    def data(self, key):
        if key == "originals":
            return self.original
        return self.images.cache.get_or_build(
            ("upload", id(self.token), key), lambda: scale_from_original(self.original, self.fmt, key))


class Images:
    """Makes image objects for pins and owns the byte cache."""

    def __init__(self, scale=1.0, cache_bytes=256 << 20):
        self.scale = scale
        self.cache = ByteLRU(cache_bytes)
        pool_size = max(12, min(POOL_SIZE, round(POOL_SIZE / scale ** 2)))
        self.specs = [self._make_spec(i) for i in range(pool_size)]

    def _make_spec(self, index):
        """(format, width, height) of pool picture `index`: mostly JPEG, mostly portrait."""
        rng = random.Random(f"pool:{index}")
        if index % 6 == 5:
            fmt, width = "PNG", rng.randint(240, 560)
            height = rng.randint(240, 560)
        else:
            fmt, width = "JPEG", rng.randint(300, 1100)
            height = int(width * rng.uniform(0.75, 1.6))
        return fmt, max(16, round(width * self.scale)), max(16, round(height * self.scale))

    def pool_spec(self, index):
        return self.specs[index]

    def pool_bytes(self, index, key):
        fmt, width, height = self.specs[index]
        if key == "originals":
            return self.cache.get_or_build(
                ("pool", index, key), lambda: make_picture(random.Random(f"pixels:{index}"), width, height, fmt))
        original = self.pool_bytes(index, "originals")
        return self.cache.get_or_build(("pool", index, key), lambda: scale_from_original(original, fmt, key))

    def seeded(self, ordinal, salt):
        """The picture of the `ordinal`-th seeded pin (consecutive pins get distinct pool bases)."""
        return SeededImage(self, ordinal % len(self.specs), salt)

    def uploaded(self, data, content_type):
        """Validate uploaded bytes; returns (image, None) or (None, (code, message))."""
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                fmt, (width, height) = img.format, img.size
        except Exception as exc:  # PIL raises many types for garbage input
            return None, (CODE_IMAGE_BROKEN, f"Sorry, the image is broken: {exc}")
        if fmt not in FORMATS or FORMATS[fmt][0] != content_type:
            return None, (CODE_IMAGE_BROKEN, f"Sorry, the image is broken: content is {fmt}, declared {content_type}.")
        if width < MIN_UPLOAD_SIDE or height < MIN_UPLOAD_SIDE:
            return None, (CODE_IMAGE_TOO_SMALL, f"Sorry, the image is too small ({width}x{height}).")
        return UploadedImage(self, bytes(data), fmt, width, height), None
