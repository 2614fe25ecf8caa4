"""Pin videos: uploaded files, what their MP4 boxes say, and the /vid/ URLs' blobs.

A video is a Blob (messages.py): `size` and read(offset, length), so a 50 MB upload is served
from its file and never held in memory whole.
"""

import hashlib
import os
import struct
import tempfile

from messages import Blob

# ftyp brands of video files (MP4, QuickTime, 3GP, Flash MP4); HEIF pictures and M4A audio
# carry an ftyp box too, and are not videos.
VIDEO_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
                b"qt  ", b"M4V ", b"M4VP", b"M4VH", b"dash", b"mmp4", b"3gp4", b"3gp5", b"3gp6",
                b"3g2a", b"f4v ", b"XAVC", b"msnv"}
MAX_MOOV = 16 << 20          # a moov box larger than this is not read for duration and size
DEFAULT_INFO = {"duration": 15000, "width": 1280, "height": 720}


class FileVideo(Blob):
    """Uploaded bytes in an unnamed temporary file: gone when the server process ends."""

    def __init__(self):
        self.file = tempfile.TemporaryFile(prefix="pinfs-fake-upload-")
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data):
        self.file.write(data)
        self.size += len(data)
        self.digest.update(data)

    def sha256(self):
        return self.digest.hexdigest()

    def finish(self):
        self.file.flush()

    def read(self, offset, length):
        return os.pread(self.file.fileno(), max(0, min(length, self.size - offset)), offset)

    def close(self):
        self.file.close()


def boxes(read, start, end):
    """(type, payload offset, payload end) of the boxes between start and end."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", read(offset, 8))
        header = 8
        if size == 1:
            if offset + 16 > end:
                return
            size = struct.unpack(">Q", read(offset + 8, 8))[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield kind, offset + header, offset + size
        offset += size


def video_brand(blob):
    """The ftyp box's brand when the bytes are a video file (MP4, QuickTime...), else None."""
    head = blob.read(0, 64)
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = struct.unpack(">I", head[:4])[0]
    if not 16 <= size <= 4096:
        return None
    brands = blob.read(8, size - 8)
    listed = [brands[:4]] + [brands[i:i + 4] for i in range(8, len(brands) - 3, 4)]
    if not VIDEO_BRANDS.intersection(listed):
        return None
    return brands[:4].decode("latin-1")


def probe(blob):
    """{"brand", "duration" (ms), "width", "height"} of a video file, None if it is not one.

    Duration comes from mvhd, the size from the first track header with one; a file whose moov
    cannot be read (a test's header plus padding) gets plausible defaults."""
    brand = video_brand(blob)
    if brand is None:
        return None
    info = dict(DEFAULT_INFO, brand=brand)
    for kind, start, end in boxes(blob.read, 0, blob.size):
        if kind == b"moov" and end - start <= MAX_MOOV:
            moov = blob.read(start, end - start)
            read_moov(lambda offset, length: moov[offset:offset + length], len(moov), info)
            break
    return info


def read_moov(read, size, info):
    """Duration from mvhd and width/height from the first track header that has them."""
    sized = False
    for kind, start, end in boxes(read, 0, size):
        if kind == b"mvhd" and end - start >= 32:
            version = read(start, 1)[0]
            if version == 1:
                timescale, duration = struct.unpack(">IQ", read(start + 20, 12))
            else:
                timescale, duration = struct.unpack(">II", read(start + 12, 8))
            if timescale:
                info["duration"] = round(duration * 1000 / timescale)
        elif kind == b"trak" and not sized:
            for sub, sub_start, sub_end in boxes(read, start, end):
                at = sub_start + (88 if read(sub_start, 1)[:1] == b"\x01" else 76)
                if sub == b"tkhd" and at + 8 <= sub_end:
                    width, height = (value >> 16 for value in struct.unpack(">II", read(at, 8)))
                    if width and height:
                        info["width"], info["height"], sized = width, height, True
