"""Writing small MP4 files (ISO/IEC 14496-12 and -14): one video track of one still frame.

The frame is a JPEG or PNG picture carried as MPEG-4 Part 2 visual ('mp4v' sample entry, esds
object type 0x6C JPEG / 0x6D PNG), so the file is a real, playable MP4 whose moov comes first
("fast start"). The mdat may be padded past the frame to any length, so a test can have a video
of any size without the fake generating a real stream.
"""

import struct

TIMESCALE = 1000   # ms
OBJECT_TYPES = {"JPEG": 0x6C, "PNG": 0x6D}
MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
FTYP = b"isom"


def box(kind, *payloads):
    body = b"".join(payloads)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind, version, flags, *payloads):
    return box(kind, struct.pack(">I", version << 24 | flags), *payloads)


def descriptor(tag, *payloads):
    """An MPEG-4 descriptor (length in the 4-byte expandable form)."""
    body = b"".join(payloads)
    size = len(body)
    length = bytes([0x80 | (size >> 21) & 0x7F, 0x80 | (size >> 14) & 0x7F, 0x80 | (size >> 7) & 0x7F, size & 0x7F])
    return bytes([tag]) + length + body


def sample_entry(fmt, width, height, frame_size):
    decoder_config = descriptor(0x04, bytes([OBJECT_TYPES[fmt], 0x11]), frame_size.to_bytes(3, "big"),
                                struct.pack(">II", frame_size * 8, frame_size * 8))
    es = descriptor(0x03, struct.pack(">HB", 1, 0), decoder_config, descriptor(0x06, b"\x02"))
    name = b"pinfs fake still"
    return box(b"mp4v", bytes(6), struct.pack(">H", 1), bytes(16), struct.pack(">HH", width, height),
               struct.pack(">II", 0x480000, 0x480000), bytes(4), struct.pack(">H", 1),
               bytes([len(name)]) + name.ljust(31, b"\0"), struct.pack(">Hh", 0x18, -1),
               full_box(b"esds", 0, 0, es))


def moov(fmt, width, height, duration, frame_size, frame_offset):
    tkhd = full_box(b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, 1, 0, duration), bytes(8),
                    struct.pack(">hhhH", 0, 0, 0, 0), MATRIX, struct.pack(">II", width << 16, height << 16))
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIII", 0, 0, TIMESCALE, duration), struct.pack(">HH", 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s", 0, b"vide"), bytes(12), b"VideoHandler\0")
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    stbl = box(b"stbl",
               full_box(b"stsd", 0, 0, struct.pack(">I", 1), sample_entry(fmt, width, height, frame_size)),
               full_box(b"stts", 0, 0, struct.pack(">III", 1, 1, duration)),
               full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, 1, 1)),
               full_box(b"stsz", 0, 0, struct.pack(">III", 0, 1, frame_size)),
               full_box(b"stco", 0, 0, struct.pack(">II", 1, frame_offset)))
    minf = box(b"minf", full_box(b"vmhd", 0, 1, bytes(8)), dinf, stbl)
    mvhd = full_box(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, TIMESCALE, duration),
                    struct.pack(">IH", 0x10000, 0x100), bytes(10), MATRIX, bytes(24), struct.pack(">I", 2))
    return box(b"moov", mvhd, box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf)))


def header(fmt, width, height, duration, frame_size, total_size=None):
    """The bytes before the frame: ftyp, moov and the mdat box header. The file is these, the
    frame, then padding up to `total_size` (None: no padding). Returns (header, total size)."""
    ftyp = box(b"ftyp", FTYP, struct.pack(">I", 0x200), b"isomiso2mp41")
    # moov's length does not depend on the offset it records: measure it with 0 first.
    moov_size = len(moov(fmt, width, height, duration, frame_size, 0))
    natural = len(ftyp) + moov_size + 8 + frame_size
    large = (total_size or natural) > 0xFFFFFFFF - 8
    mdat_header_size = 16 if large else 8
    frame_offset = len(ftyp) + moov_size + mdat_header_size
    total = max(frame_offset + frame_size, total_size or 0)
    mdat_size = total - len(ftyp) - moov_size
    mdat = struct.pack(">I4sQ", 1, b"mdat", mdat_size) if large else struct.pack(">I4s", mdat_size, b"mdat")
    return ftyp + moov(fmt, width, height, duration, frame_size, frame_offset) + mdat, total
