"""Small pictures for tests to copy into the mount: real JPEG and PNG files made with PIL."""

import io

from PIL import Image


def jpeg(color=(200, 30, 30), size=(64, 48)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def png(color=(30, 200, 30), size=(40, 30)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()
