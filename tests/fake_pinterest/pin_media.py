"""What a pin shows: one picture, a video, or a carousel of items; and its API `media` object.

The kinds follow the spec's PinMedia (discriminated by `media_type`):
- `image`: `images` (the size keys, plus `originals` as live answers have it);
- `video`: `images` of the cover, `cover_image_url`, `video_url` (null for apps without access),
  `duration` (ms), `width`, `height`;
- `multiple_images`: `items` of ImageMetadata (`item_type` "image", title, description, link,
  images); `multiple_videos`: `items` of VideoMetadataWithItemType (`item_type` "video",
  cover_image_url, video_url, duration, width, height); `multiple_mixed`: both kinds of item.
Carousels have no top-level `images`. Item n (from 1) of pin P is served at /img/<size>/P-n.<ext>
(a video item's cover) and /vid/P-n.mp4.
"""

from dataclasses import dataclass

from images import FORMATS, SIZE_KEYS


@dataclass(eq=False)
class PinVideo:
    blob: object                # messages.Blob: the bytes /vid/ serves
    duration: int               # ms
    width: int
    height: int
    url_hidden: bool = False    # video_url null: "not available to all apps"


@dataclass(eq=False)
class Item:
    """One carousel item: a picture, or a video (`image` is then its cover)."""
    image: object
    video: object = None        # PinVideo for a video item
    title: object = None
    description: object = None
    link: object = None


def kind(pin):
    if pin.items:
        videos = sum(item.video is not None for item in pin.items)
        return "multiple_images" if videos == 0 else \
            "multiple_videos" if videos == len(pin.items) else "multiple_mixed"
    return "video" if pin.video is not None else "image"


CREATIVE_TYPES = {"image": "REGULAR", "video": "VIDEO", "multiple_images": "CAROUSEL",
                  "multiple_videos": "CAROUSEL", "multiple_mixed": "CAROUSEL"}


def image_url(base_url, key, image_id, image):
    return f"{base_url}/img/{key}/{image_id}.{FORMATS[image.fmt][1]}"


def sizes(base_url, image_id, image, override=None):
    """The `images` map of a picture served under `image_id` (every URL `override` if set)."""
    out = {}
    for key in SIZE_KEYS:
        width, height = image.size(key)
        out[key] = {"url": override or image_url(base_url, key, image_id, image),
                    "width": width, "height": height}
    return out


def video_fields(base_url, media_id, image, video, override=None):
    return {"cover_image_url": override or image_url(base_url, "originals", media_id, image),
            "video_url": None if video.url_hidden else f"{base_url}/vid/{media_id}.mp4",
            "duration": video.duration, "width": video.width, "height": video.height}


def render(base_url, pin):
    """The pin's `media` object."""
    media_type = kind(pin)
    override = pin.media_url
    if media_type == "image":
        return {"media_type": "image", "images": sizes(base_url, pin.id, pin.image, override)}
    if media_type == "video":
        return {"media_type": "video", "images": sizes(base_url, pin.id, pin.image, override),
                **video_fields(base_url, pin.id, pin.image, pin.video, override)}
    items = []
    for n, item in enumerate(pin.items, 1):
        item_id = f"{pin.id}-{n}"
        if item.video is None:
            items.append({"item_type": "image", "title": item.title, "description": item.description,
                          "link": item.link, "images": sizes(base_url, item_id, item.image, override)})
        else:
            items.append({"item_type": "video", **video_fields(base_url, item_id, item.image, item.video, override)})
    return {"media_type": media_type, "items": items}


def image_of(pin, n):
    """The picture served for item n (from 1) of a pin, or None."""
    if n is None:
        return pin.image
    return pin.items[n - 1].image if pin.items and 1 <= n <= len(pin.items) else None


def video_of(pin, n):
    """The PinVideo served for the pin (n None) or its item n, or None."""
    if n is None:
        return pin.video
    return pin.items[n - 1].video if pin.items and 1 <= n <= len(pin.items) else None
