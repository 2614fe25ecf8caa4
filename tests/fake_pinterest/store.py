"""The fake account in memory: boards, sections, pins, people; their API shapes; mutations.

Every list is kept sorted by `seq` (creation order) so pagination can bisect on a cursor
instead of scanning. One re-entrant lock guards everything: requests are short, and no lock is
held while sleeping or doing network I/O.
"""

import bisect
import datetime
import hashlib
import random
import threading
import time
from dataclasses import dataclass, field

from messages import (ApiError, CODE_BOARD_NOT_FOUND, CODE_NOT_PERMITTED, CODE_PIN_NOT_FOUND,
                      CODE_SECTION_NOT_FOUND, CODE_USER_NOT_FOUND, bad_request)
import pin_media
from images import FORMATS


def fmt_time(ts):
    """Pinterest's live timestamp style: UTC without a zone suffix."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


def by_seq(obj):
    return obj.seq


class IdMaker:
    """Increasing decimal ids above 2**53 with irregular gaps, deterministic per kind."""

    def __init__(self, base, kind):
        self.value = base
        self.rng = random.Random(f"ids:{kind}")

    def __call__(self):
        self.value += self.rng.randrange(1, 1 << 20)
        return str(self.value)


@dataclass(eq=False)
class Board:
    id: str
    name: str
    description: str
    privacy: str
    created_at: float
    pins_modified_at: float
    seq: int
    follower_count: int = 0
    pins: list = field(default_factory=list)       # Pin, by seq, including section pins
    sections: list = field(default_factory=list)   # Section, by seq


@dataclass(eq=False)
class Section:
    id: str
    board_id: str
    name: str
    seq: int


@dataclass(eq=False)
class Pin:
    id: str
    board_id: str
    section_id: object   # str or None
    title: object
    description: object
    link: object
    alt_text: object
    dominant_color: str
    created_at: float
    seq: int
    image: object             # the picture: a video's cover, a carousel's first item's
    parent_pin_id: object = None
    media_url: object = None  # set by POST /_fake/pin_media: every size's URL
    video: object = None      # pin_media.PinVideo of a video pin
    items: object = None      # [pin_media.Item] of a carousel
    rendered: object = None   # cached API dict; cleared on every change


@dataclass(eq=False)
class Person:
    username: str
    seq: int


@dataclass(eq=False)
class Interest:
    id: str
    name: str
    seq: int


@dataclass(eq=False)
class ForeignBoard:
    """A board owned by someone else that I follow: shown, never listable."""
    id: str
    name: str
    description: str
    owner: str
    created_at: float
    pin_count: int
    seq: int
    cover_ids: list   # ids of foreign images used as cover and thumbnails


# The daily counts of the fake analytics and the largest of each (IMPRESSION gets 100 more).
ANALYTICS_COUNTS = {"IMPRESSION": 2000, "SAVE": 40, "PIN_CLICK": 60, "OUTBOUND_CLICK": 30}


def analytics_rates(counts):
    """The *_RATE and ENGAGEMENT metrics of some counts, as Pinterest derives them."""
    seen = counts["IMPRESSION"] or 1
    engagement = counts["SAVE"] + counts["PIN_CLICK"] + counts["OUTBOUND_CLICK"]
    return {"ENGAGEMENT": engagement, "ENGAGEMENT_RATE": round(engagement / seen, 4),
            "SAVE_RATE": round(counts["SAVE"] / seen, 4), "PIN_CLICK_RATE": round(counts["PIN_CLICK"] / seen, 4),
            "OUTBOUND_CLICK_RATE": round(counts["OUTBOUND_CLICK"] / seen, 4)}


class Store:
    def __init__(self, images, username, user_id):
        self.lock = threading.RLock()
        self.images = images
        self.base_url = "http://127.0.0.1:0"
        self.seq = 0
        self.new_board_id = IdMaker(985_163_000_000_000_000, "board")
        self.new_section_id = IdMaker(5_128_000_000_000_000_000, "section")
        self.new_pin_id = IdMaker(1_125_899_906_842_624_000, "pin")
        self.new_other_id = IdMaker(7_000_000_000_000_000_000, "other")
        self.me = {"username": username, "id": user_id, "account_type": "PINNER",
                   "website_url": "", "about": "", "business_name": None, "monthly_views": 0}
        self.avatar_id = self.new_other_id()
        self.boards = {}
        self.board_list = []
        self.sections = {}
        self.pins = {}
        self.pin_list = []
        self.known_users = {}       # username -> Person (anyone the fake knows about)
        self.followers = []
        self.following = []
        self.interests = []
        self.following_boards = []
        self.foreign_images = {self.avatar_id: images.seeded(7, self.avatar_id)}

    # ----- helpers -----------------------------------------------------------------------
    def next_seq(self):
        self.seq += 1
        return self.seq

    def board(self, board_id):
        """One of my boards; 403 for a board I only follow, 404 for an unknown one."""
        board = self.boards.get(board_id)
        if board is None:
            if any(fb.id == board_id for fb in self.following_boards):
                raise ApiError(403, CODE_NOT_PERMITTED, "You are not permitted to access that resource.")
            raise ApiError(404, CODE_BOARD_NOT_FOUND, "Board not found.")
        return board

    def board_view(self, board_id):
        """GET /boards/{id}: my board, or a board I follow (others' public boards are readable)."""
        for fb in self.following_boards:
            if fb.id == board_id:
                return self.foreign_board_json(fb)
        return self.board_json(self.board(board_id))

    def section(self, board, section_id):
        section = self.sections.get(section_id)
        if section is None or section.board_id != board.id:
            raise ApiError(404, CODE_SECTION_NOT_FOUND, "Sorry! We couldn't find this board section.")
        return section

    def pin(self, pin_id):
        pin = self.pins.get(pin_id)
        if pin is None:
            raise ApiError(404, CODE_PIN_NOT_FOUND, "Pin not found.")
        return pin

    def person(self, username):
        person = self.known_users.get(username)
        if person is None:
            raise ApiError(404, CODE_USER_NOT_FOUND, "User not found.")
        return person

    def image_of(self, image_id):
        """The image object behind /img/<key>/<image_id>.<ext> (a pin id, "<pin id>-<n>" for
        carousel item n, or another picture's id), or None."""
        pin_id, _, n = image_id.partition("-")
        with self.lock:
            pin = self.pins.get(pin_id)
            if pin is None:
                return None if n else self.foreign_images.get(pin_id)
            return pin_media.image_of(pin, int(n) if n else None)

    def video_of(self, video_id):
        """The PinVideo behind /vid/<video_id>.mp4 ("<pin id>" or "<pin id>-<n>"), or None."""
        pin_id, _, n = video_id.partition("-")
        with self.lock:
            pin = self.pins.get(pin_id)
            return pin_media.video_of(pin, int(n) if n else None) if pin else None

    def image_url(self, key, image_id, image):
        return f"{self.base_url}/img/{key}/{image_id}.{FORMATS[image.fmt][1]}"

    @staticmethod
    def _remove(items, obj):
        index = bisect.bisect_left(items, obj.seq, key=by_seq)
        if index < len(items) and items[index] is obj:
            del items[index]

    # ----- API shapes --------------------------------------------------------------------
    def account_json(self):
        return dict(self.me, profile_image=self.image_url("150x150", self.avatar_id, self.foreign_images[self.avatar_id]),
                    board_count=len(self.board_list), pin_count=len(self.pin_list),
                    follower_count=len(self.followers), following_count=len(self.following))

    def analytics_json(self, start, end, today):
        """GET /user_account/analytics from start to end (datetime.date, both included): the
        AnalyticsResponse's "all", each day's counts a hash of the user and the date, so the same
        day always says the same. Today's numbers are still PROCESSING, as Pinterest's are."""
        days, totals = [], dict.fromkeys(ANALYTICS_COUNTS, 0)
        for n in range((end - start).days + 1):
            day = start + datetime.timedelta(days=n)
            digest = hashlib.sha256(f"{self.me['id']}/{day.isoformat()}".encode()).digest()
            counts = {name: int.from_bytes(digest[2 * i:2 * i + 2], "big") % top
                      for i, (name, top) in enumerate(ANALYTICS_COUNTS.items())}
            counts["IMPRESSION"] += 100   # never fewer views than clicks
            for name in totals:
                totals[name] += counts[name]
            days.append({"date": day.isoformat(), "data_status": "PROCESSING" if day >= today else "READY",
                         "metrics": dict(counts, **analytics_rates(counts))})
        return {"all": {"daily_metrics": days, "summary_metrics": dict(totals, **analytics_rates(totals))}}

    def board_json(self, board):
        newest = board.pins[-5:][::-1]
        return {
            "id": board.id, "name": board.name, "description": board.description,
            "privacy": board.privacy, "owner": {"username": self.me["username"]},
            "created_at": fmt_time(board.created_at),
            "board_pins_modified_at": fmt_time(board.pins_modified_at),
            "pin_count": len(board.pins), "follower_count": board.follower_count,
            "collaborator_count": 0,
            "media": {
                "image_cover_url": self.image_url("400x300", newest[0].id, newest[0].image) if newest else None,
                "pin_thumbnail_urls": [self.image_url("150x150", p.id, p.image) for p in newest[:4]],
            },
        }

    def section_json(self, section):
        return {"id": section.id, "name": section.name}

    def pin_json(self, pin):
        if pin.rendered is None:
            pin.rendered = {
                "id": pin.id, "created_at": fmt_time(pin.created_at), "link": pin.link,
                "title": pin.title, "description": pin.description, "alt_text": pin.alt_text,
                "dominant_color": pin.dominant_color,
                "creative_type": pin_media.CREATIVE_TYPES[pin_media.kind(pin)],
                "board_id": pin.board_id, "board_section_id": pin.section_id,
                "board_owner": {"username": self.me["username"]}, "is_owner": True,
                "is_standard": True, "has_been_promoted": False, "parent_pin_id": pin.parent_pin_id,
                "note": "", "pin_metrics": None,
                "media": pin_media.render(self.base_url, pin),
            }
        return pin.rendered

    def person_json(self, person):
        return {"type": "user", "username": person.username}

    def interest_json(self, interest):
        key = interest.name.lower().replace(" ", "-")
        return {"id": interest.id, "name": interest.name, "key": key,
                "canonical_url": f"https://www.pinterest.com/ideas/{key}/{interest.id}/"}

    def foreign_board_json(self, fb):
        urls = [self.image_url("150x150", i, self.foreign_images[i]) for i in fb.cover_ids]
        return {
            "id": fb.id, "name": fb.name, "description": fb.description, "privacy": "PUBLIC",
            "owner": {"username": fb.owner}, "created_at": fmt_time(fb.created_at),
            "board_pins_modified_at": fmt_time(fb.created_at), "pin_count": fb.pin_count,
            "follower_count": 120, "collaborator_count": 0,
            "media": {"image_cover_url": self.image_url("400x300", fb.cover_ids[0], self.foreign_images[fb.cover_ids[0]]),
                      "pin_thumbnail_urls": urls},
        }

    # ----- building (seed and API) ---------------------------------------------------------
    def add_board(self, name, description="", privacy="PUBLIC", created_at=None):
        created_at = time.time() if created_at is None else created_at
        board = Board(self.new_board_id(), name, description, privacy, created_at, created_at, self.next_seq())
        self.boards[board.id] = board
        self.board_list.append(board)
        return board

    def add_section(self, board, name):
        section = Section(self.new_section_id(), board.id, name, self.next_seq())
        self.sections[section.id] = section
        board.sections.append(section)
        return section

    def add_pin(self, board, section, image, *, title="", description="", link=None,
                alt_text=None, dominant_color="#c0c0c0", created_at=None, parent_pin_id=None,
                video=None, items=None):
        """A pin showing `image`, or the video `video` (`image` its cover), or the carousel
        `items` (`image` the first item's picture)."""
        created_at = time.time() if created_at is None else created_at
        pin = Pin(self.new_pin_id(), board.id, section.id if section else None, title, description,
                  link, alt_text, dominant_color, created_at, self.next_seq(), image, parent_pin_id,
                  video=video, items=items)
        self.pins[pin.id] = pin
        self.pin_list.append(pin)      # seq grows, so appending keeps the lists sorted
        board.pins.append(pin)
        board.pins_modified_at = max(board.pins_modified_at, created_at)
        return pin

    def add_person(self, username):
        return self.known_users.setdefault(username, Person(username, self.next_seq()))

    def add_interest(self, name):
        interest = Interest(self.new_other_id(), name, self.next_seq())
        self.interests.append(interest)
        return interest

    def add_foreign_board(self, owner, name, description, created_at, pin_count):
        cover_ids = []
        for n in range(4):
            image_id = self.new_pin_id()
            self.foreign_images[image_id] = self.images.seeded(len(self.foreign_images) + n, image_id)
            cover_ids.append(image_id)
        self.add_person(owner)
        fb = ForeignBoard(self.new_board_id(), name, description, owner, created_at, pin_count,
                          self.next_seq(), cover_ids)
        self.following_boards.append(fb)
        return fb

    # ----- mutations (callers validate field types and lengths) --------------------------
    def check_board_name(self, name, board=None):
        """400 when `name` is used by another of my boards (Pinterest ignores case here)."""
        folded = name.casefold()
        for other in self.board_list:
            if other is not board and other.name.casefold() == folded:
                raise bad_request(f"You already have a board named \"{name}\".")

    def update_board(self, board, fields):
        if "name" in fields:
            self.check_board_name(fields["name"], board)
        for key, value in fields.items():
            setattr(board, key, value)

    def delete_board(self, board):
        """Like Pinterest, deleting a board deletes its sections and pins."""
        for pin in list(board.pins):
            self.delete_pin(pin)
        for section in board.sections:
            del self.sections[section.id]
        del self.boards[board.id]
        self._remove(self.board_list, board)

    def delete_section(self, board, section):
        """Like Pinterest, deleting a section deletes the pins in it."""
        for pin in [p for p in board.pins if p.section_id == section.id]:
            self.delete_pin(pin)
        del self.sections[section.id]
        board.sections.remove(section)

    def touch(self, board):
        board.pins_modified_at = max(time.time(), board.pins_modified_at)

    def update_pin(self, pin, fields):
        """Apply validated fields; board_id/board_section_id move the pin."""
        old_board = self.boards[pin.board_id]
        new_board = self.board(fields.get("board_id", pin.board_id))
        if "board_section_id" in fields:
            section_id = fields["board_section_id"]
            section_id = self.section(new_board, section_id).id if section_id is not None else None
        else:
            # Moving to another board leaves the old board's section behind.
            section_id = pin.section_id if new_board is old_board else None
        for key in ("title", "description", "link", "alt_text"):
            if key in fields:
                setattr(pin, key, fields[key])
        if new_board is not old_board:
            self._remove(old_board.pins, pin)
            bisect.insort(new_board.pins, pin, key=by_seq)
            pin.board_id = new_board.id
            self.touch(old_board)
        pin.section_id = section_id
        pin.rendered = None
        self.touch(new_board)

    def delete_pin(self, pin):
        board = self.boards[pin.board_id]
        self._remove(board.pins, pin)
        self._remove(self.pin_list, pin)
        del self.pins[pin.id]
        self.touch(board)

    def add_follower(self, username):
        self.followers.append(Person(self.add_person(username).username, self.next_seq()))

    def follow(self, username):
        person = self.person(username)
        if all(p.username != username for p in self.following):
            self.following.append(Person(username, self.next_seq()))
        return person

    # ----- queries -------------------------------------------------------------------------
    def boards_with_privacy(self, privacy):
        if privacy in (None, "ALL"):
            return self.board_list
        wanted = {"PUBLIC_AND_SECRET": ("PUBLIC", "SECRET")}.get(privacy, (privacy,))
        return [b for b in self.board_list if b.privacy in wanted]

    @staticmethod
    def _matches(words, *texts):
        haystack = " ".join(t for t in texts if t).casefold()
        return all(word in haystack for word in words)

    def search_boards(self, query):
        words = query.casefold().split()
        return [b for b in self.board_list if self._matches(words, b.name, b.description)]

    def search_pins(self, query):
        """Words must all occur in title, description or alt text; or a list of pin ids."""
        ids = [part.strip() for part in query.split(",")]
        if all(part.isdigit() for part in ids):
            return sorted((self.pins[i] for i in set(ids) if i in self.pins), key=by_seq)
        words = query.casefold().split()
        return [p for p in self.pin_list if self._matches(words, p.title, p.description, p.alt_text)]
