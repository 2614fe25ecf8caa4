"""Seed accounts: a small hand-made demo ("sample") or a deterministic generated one.

Generated accounts (boards=B,pins=P,sections=S[,big=N][,media=M]) put the awkward titles a
filesystem must cope with (duplicates, empty, null, unicode, '/', exactly 100 characters, leading
'.') on the first pins of the first board, outside sections, so tests know where to find them.
M percent of the other pins (default 10) are videos and carousels instead of pictures.
"""

import random
from collections import Counter

from pin_media import item_kinds, seeded_items, seeded_video
from store import Store

EPOCH = 1609459200   # 2021-01-01T00:00:00 UTC: seeded objects are dated from here on

HUNDRED = "A very long pin title that is exactly one hundred characters long, to test the limit, ok"
HUNDRED = HUNDRED + "!" * (100 - len(HUNDRED))

# In creation order on the first board; older pins keep the plain name when titles collide.
SPECIAL_TITLES = [
    "Lemon tart", "Lemon tart", "", "Crème brûlée à l'orange", "東京の夜景", "Sunset 🌅 over the bay",
    "Before/after: kitchen remodel", HUNDRED, ".hidden gem cafés", "Lemon tart", None,
    "Untitled", "Untitled", "Ελληνική σαλάτα", "holiday.jpg",
]
SECTION_DUPLICATE_TITLE = "Mood board"   # the first two section pins of the first board

BOARD_NAMES = [
    "Recipes", "Travel", "Art / Illustration", "Home decor", "Garden ideas", "DIY & crafts",
    "Wedding", "Fitness", "Photography", "Books worth reading", "Style", "Kids' crafts",
    "Architecture", "Quotes", "Camping", "Birthday party", "Coffee", "Interior design",
]
BOARD_BLURBS = ["Ideas I keep coming back to.", "Things to try this year.", "", "Saved for later.",
                "My favourite finds, collected over the years.", "Inspiration board."]
SECTION_NAMES = ["Favourites", "To try", "Done", "Ideas", "Inspiration", "Someday", "Best of", "Archive"]
ADJECTIVES = ["Cozy", "Rustic", "Minimalist", "Vintage", "Colorful", "Easy", "Quick", "Healthy",
              "Modern", "Boho", "Tiny", "Budget", "Weekend", "Summer", "Winter", "Spring", "Autumn",
              "Classic", "Bold", "Simple"]
NOUNS = ["reading nook", "pasta salad", "living room", "garden path", "wall art", "road trip",
         "cabin", "bathroom", "lemon cake", "balcony garden", "watercolor", "bookshelf",
         "camping hacks", "kitchen", "wedding cake", "workout", "braids", "café", "sunset photo",
         "city guide"]
SUFFIXES = ["", "", "", " ideas", " for beginners", " inspiration", " (DIY)", " on a budget",
            " – step by step"]
SENTENCES = ["Saving this for the weekend.", "Love the colours in this one.",
             "Step-by-step guide with photos.", "Would be perfect for the spare room.",
             "Tried it twice already, works every time.", "Found via a friend."]
FOLLOWERS = ["ana_bakes", "tomtravels", "green_thumb_liz", "urban_sketcher", "mo_makes"]
FOLLOWING = ["nasa", "ana_bakes", "design_daily"]
OTHER_USERS = ["marta_makes", "pinterest"]
INTERESTS = ["Baking", "Travel photography", "Gardening"]


DEFAULT_MEDIA_PERCENT = 10
# The kinds non-image pins take in turn: half videos, half carousels (mostly of pictures).
MEDIA_CYCLE = ["video", "multiple_images", "video", "multiple_images", "video", "multiple_mixed",
               "video", "multiple_videos"]
HIDDEN_VIDEO_URL_EVERY = 7   # every 7th generated video pin has video_url null


class MediaPlan:
    """Which of the eligible pins (in creation order) are not pictures: exactly `percent` per
    cent of them, evenly spread, taking the kinds of MEDIA_CYCLE in turn."""

    def __init__(self, percent):
        self.percent, self.eligible, self.chosen, self.videos = percent, 0, 0, 0

    def next(self):
        """(kind, video_url hidden) of the next eligible pin: kind None for a plain picture,
        else a PinMedia kind."""
        k, self.eligible = self.eligible, self.eligible + 1
        if (k + 1) * self.percent // 100 == k * self.percent // 100:
            return None, False
        kind = MEDIA_CYCLE[self.chosen % len(MEDIA_CYCLE)]
        self.chosen += 1
        if kind != "video":
            return kind, False
        self.videos += 1
        return kind, self.videos % HIDDEN_VIDEO_URL_EVERY == 0


def media_pin(images, ordinal, salt, kind, hidden=False, items=None):
    """add_pin keywords (image, video/items) of a seeded pin of `kind` that is not a picture."""
    if kind == "video":
        image = images.seeded(ordinal, salt)
        return {"image": image, "video": seeded_video(image, salt, url_hidden=hidden)}
    count = items or 2 + random.Random(f"items:{salt}").randrange(4)   # 2 to 5 items
    made = seeded_items(images, ordinal, salt, item_kinds(kind, count))
    return {"image": made[0].image, "items": made}


def parse_spec(spec):
    """'boards=B,pins=P,sections=S[,big=N][,media=M]' -> dict of ints (ValueError when malformed)."""
    values = {}
    for part in spec.split(","):
        name, _, number = part.partition("=")
        if name not in ("boards", "pins", "sections", "big", "media") or not number.isdigit():
            raise ValueError(f"bad seed item {part!r}")
        values[name] = int(number)
    if values.get("media", 0) > 100:
        raise ValueError("media= is a percentage of pins, 0 to 100")
    if not {"boards", "pins", "sections"} <= set(values):
        raise ValueError("seed needs boards=, pins= and sections=")
    if values["boards"] == 0 and (values["pins"] or values["sections"] or values.get("big")):
        raise ValueError("pins and sections need at least one board")
    return values


def build(spec, images):
    if spec == "sample":
        return sample(images)
    return generated(images, **parse_spec(spec))


def add_people(store, followers, following, others, interests, followed_boards):
    for name in followers + following + others:
        store.add_person(name)
    for name in followers:
        store.add_follower(name)
    for name in following:
        store.follow(name)
    for name in interests:
        store.add_interest(name)
    for n, (owner, name, blurb) in enumerate(followed_boards):
        store.add_foreign_board(owner, name, blurb, EPOCH - 86400 * (30 + n), 40 + 17 * n)


# ----- generated accounts -----------------------------------------------------------------
def pin_board_plan(rng, boards, pins, big):
    """Board index of each pin in creation order: N on the first board with big=, P spread."""
    targets = list(range(1, boards)) if big is not None and boards > 1 else list(range(boards))
    plan = [0] * (big or 0) + [targets[i % len(targets)] for i in range(pins)]
    rng.shuffle(plan)   # interleave boards so creation dates mix like a real account
    return plan


def in_section(ordinal, board):
    """Every third pin of a board that has sections goes into one of them."""
    return bool(board.sections) and ordinal % 3 == 2


def top_level_count(count, board):
    return count - count // 3 if board.sections else count


def special_titles_plan(counts):
    """{(board index, ordinal among its top-level pins): title}, the first board first,
    spilling over to the next boards when it has too few pins."""
    plan, pending = {}, list(SPECIAL_TITLES)
    for board_index, count in enumerate(counts):
        for ordinal in range(min(count, len(pending))):
            plan[(board_index, ordinal)] = pending.pop(0)
    return plan


def generated(images, boards, pins, sections, big=None, media=DEFAULT_MEDIA_PERCENT):
    rng = random.Random(20240601)
    store = Store(images, "pinfs_tester", "700000000000012345")
    store.me.update(about="Generated account for pinfs tests.", website_url="https://example.com")
    board_objs = []
    for i in range(boards):
        name = BOARD_NAMES[i] if i < len(BOARD_NAMES) else f"Collection {i + 1}"
        privacy = "SECRET" if boards > 1 and i == boards - 1 else "PUBLIC"
        board_objs.append(store.add_board(name, BOARD_BLURBS[i % len(BOARD_BLURBS)], privacy,
                                          EPOCH + 600 * i + rng.randrange(600)))
    for j in range(sections):
        board = board_objs[j % boards]
        k = len(board.sections)
        suffix = "" if k < len(SECTION_NAMES) else f" {k // len(SECTION_NAMES) + 1}"
        store.add_section(board, SECTION_NAMES[k % len(SECTION_NAMES)] + suffix)

    plan = pin_board_plan(rng, boards, pins, big)
    tally = Counter(plan)
    specials = special_titles_plan([top_level_count(tally[i], board_objs[i]) for i in range(boards)])
    ordinals, top_ordinals = [0] * boards, [0] * boards
    section_titles_left = 2
    media_plan = MediaPlan(media)
    created = EPOCH + 600 * boards + 86400
    for n, board_index in enumerate(plan):
        board, ordinal = board_objs[board_index], ordinals[board_index]
        ordinals[board_index] += 1
        created += rng.randint(60, 1200)
        section, title, special = None, make_title(rng), False
        if in_section(ordinal, board):
            section = board.sections[(ordinal // 3) % len(board.sections)]
            if board_index == 0 and section is board.sections[0] and section_titles_left:
                title, section_titles_left, special = SECTION_DUPLICATE_TITLE, section_titles_left - 1, True
        else:
            special = (board_index, top_ordinals[board_index]) in specials
            title = specials.get((board_index, top_ordinals[board_index]), title)
            top_ordinals[board_index] += 1
        # The awkward titles stay on pictures, where tests look for them.
        kind, hidden = (None, False) if special else media_plan.next()
        if kind is None:
            shown = {"image": images.seeded(n, f"seed-{n}")}
        else:
            shown = media_pin(images, n, f"seed-{n}", kind, hidden)
        store.add_pin(board, section, shown.pop("image"), created_at=created, **shown,
                      **pin_details(rng, title))
    add_people(store, FOLLOWERS, FOLLOWING, OTHER_USERS, INTERESTS,
               [("nasa", "Space photos", "Pictures from orbit."),
                ("design_daily", "Typography", "Letters, everywhere.")])
    return store


def make_title(rng):
    return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}{rng.choice(SUFFIXES)}"


def pin_details(rng, title):
    noun = rng.choice(NOUNS)
    slug = noun.replace(" ", "-").replace("é", "e")
    return {
        "title": title,
        "description": "" if rng.random() < 0.15 else f"{title or 'Untitled'}. {rng.choice(SENTENCES)}",
        "link": None if rng.random() < 0.2 else f"https://example.com/{slug}/{rng.randrange(10**6)}",
        "alt_text": None if rng.random() < 0.3 else f"Photo of a {noun}",
        "dominant_color": "#%06x" % rng.randrange(1 << 24),
    }


# ----- the hand-made demo account -----------------------------------------------------------
SAMPLE = [
    # board name, description, privacy, sections, pins: (title, section or None, description, link)
    ("Recipes", "Things I want to cook this year.", "PUBLIC", ["Desserts"], [
        ("Lemon tart", "Desserts", "Buttery crust, sharp lemon curd, a little torched meringue.",
         "https://example.com/recipes/lemon-tart"),
        ("Shakshuka for two", None, "Eggs poached in a smoky pepper and tomato sauce. Sunday brunch.",
         "https://example.com/recipes/shakshuka"),
        ("Chocolate mousse", "Desserts", "Three ingredients, no cream. Make it the night before.", None),
        ("Homemade focaccia", None, "Overnight dough, lots of olive oil, rosemary and flaky salt.",
         "https://example.com/recipes/focaccia"),
        ("Summer sorbet", "Desserts", "Strawberry and basil sorbet without an ice-cream machine.", None),
        ("Thai green curry", None, "Paste from scratch: worth it. Freeze the leftovers.",
         "https://example.com/recipes/green-curry"),
    ]),
    ("Travel", "Places I have been and places I want to go.", "PUBLIC", [], [
        ("Sunset over Santorini", None, "Oia at golden hour; go early to get a spot on the wall.", None),
        ("Kyoto in autumn", None, "Maple leaves at Tofuku-ji. Mid-November is the peak.",
         "https://example.com/travel/kyoto-autumn"),
        ("Road trip packing list", None, "Printable checklist for a week on the road.",
         "https://example.com/travel/packing-list"),
        ("Lisbon tram 28", None, "The classic yellow tram through Alfama. Ride it before 9am.", None),
    ]),
    ("Garden ideas", "Small-garden ideas for the new house.", "SECRET", [], [
        ("Raised vegetable beds", None, "Cedar boards, 40 cm high, drip irrigation underneath.", None),
        ("Herb spiral", None, "A spiral of stones: thyme at the top, mint at the damp bottom.",
         "https://example.com/garden/herb-spiral"),
        ("Companion planting chart", None, "Which vegetables help each other and which to keep apart.",
         "https://example.com/garden/companions"),
    ]),
]

# Pins of the other kinds, made after the pictures above (which keep their ids and dates):
# (board, section, kind, title, description, link, carousel item texts or item kinds).
# "Macarons, three ways [2]" is a picture beside the carousel "Macarons, three ways" on purpose:
# a carousel's second item shown as "<title> [2]" must not hide it.
SAMPLE_MEDIA = [
    ("Recipes", None, "video", "Knife skills in 60 seconds", "Rock chop, julienne, brunoise.",
     "https://example.com/recipes/knife-skills", None),
    ("Recipes", "Desserts", "multiple_images", "Macarons, three ways", "Pistachio, raspberry, salted caramel.",
     "https://example.com/recipes/macarons", [
         ("Pistachio", "Green shells, white chocolate ganache.", "https://example.com/recipes/macarons#pistachio"),
         ("Raspberry", "Freeze-dried raspberry in the shells.", None),
         (None, None, None)]),
    ("Recipes", "Desserts", "image", "Macarons, three ways [2]", "The second batch, with better feet.", None, None),
    ("Travel", None, "video", "Tram 28 through Alfama", "The whole ride, front seat, in one take.", None, None),
    ("Travel", None, "multiple_images", "Kyoto temple walk", "Three temples in one afternoon.",
     "https://example.com/travel/kyoto-walk", [
         ("Tofuku-ji", "The Tsutenkyo bridge in the maples.", None),
         ("Komyo-in", "A moss garden nobody visits.", "https://example.com/travel/komyo-in"),
         ("Fushimi Inari", "Go at dusk; the gates glow.", None)]),
    ("Travel", None, "multiple_mixed", "Iceland ring road", "Ten days around the island.",
     "https://example.com/travel/ring-road", ["image", "video", "image"]),
    ("Travel", None, "multiple_videos", "Santorini boat day", "Around the caldera by catamaran.", None,
     ["video", "video"]),
    ("Garden ideas", None, "video_url_hidden", "Building the herb spiral", "Timelapse of a weekend's work.",
     None, None),
    ("Garden ideas", None, "multiple_images", "Raised bed layouts", "Three plans for a 4 x 8 bed.", None, [
         ("Square foot", "Sixteen squares, one crop each.", None),
         ("Three sisters", "Corn, beans and squash together.", None),
         ("Salad bed", "Cut-and-come-again greens all summer.", None)]),
]


def sample_media_pin(images, n, kind, items):
    """add_pin keywords of one SAMPLE_MEDIA pin (n: its ordinal among all sample pins). Their
    pictures reuse the pool pictures of the first pins (each pin's bytes stay its own), so the
    sample costs no more drawing than it did with pictures only."""
    salt, pool = f"sample-{n}", sum(len(board[4]) for board in SAMPLE)
    if kind in ("video", "video_url_hidden"):
        return media_pin(images, n % pool, salt, "video", hidden=kind == "video_url_hidden")
    if kind == "image":
        return {"image": images.seeded(n % pool, salt)}
    texts = [t for t in items or [] if isinstance(t, tuple)]
    kinds = [t for t in items or [] if isinstance(t, str)] or ["image"] * len(texts)
    made = seeded_items(images, n % pool, salt, kinds, texts, pool)
    return {"image": made[0].image, "items": made}


def sample(images):
    store = Store(images, "demo_pinner", "700000000000054321")
    store.me.update(about="I pin recipes, trips and garden plans.", website_url="https://example.com/demo",
                    monthly_views=1234)
    created, n = EPOCH + 86400 * 200, 0
    for b, (name, blurb, privacy, section_names, pins) in enumerate(SAMPLE):
        board = store.add_board(name, blurb, privacy, EPOCH + 86400 * (10 + b))
        sections = {s: store.add_section(board, s) for s in section_names}
        for title, section, description, link in pins:
            created += 86400 * 3 + 3600 * n
            store.add_pin(board, sections.get(section), images.seeded(n, f"sample-{n}"),
                          title=title, description=description, link=link,
                          alt_text=f"Photo: {title.lower()}", dominant_color="#%06x" % (0x3a5f7d + 0x1f3d * n),
                          created_at=created)
            n += 1
    by_name = {b.name: b for b in store.board_list}
    for board_name, section_name, kind, title, description, link, items in SAMPLE_MEDIA:
        board = by_name[board_name]
        section = next((s for s in board.sections if s.name == section_name), None)
        created += 86400 * 3 + 3600 * n
        shown = sample_media_pin(images, n, kind, items)
        store.add_pin(board, section, shown.pop("image"), title=title, description=description, link=link,
                      alt_text=f"Photo: {title.lower()}", dominant_color="#%06x" % (0x3a5f7d + 0x1f3d * n),
                      created_at=created, **shown)
        n += 1
    add_people(store, ["ana_bakes", "tomtravels", "green_thumb_liz"], ["nasa", "ana_bakes"],
               ["design_daily", "pinterest"], ["Baking", "Travel photography", "Gardening"],
               [("nasa", "Space photos", "Pictures from orbit."),
                ("ana_bakes", "Sourdough", "Loaves, starters and crumb shots.")])
    return store
