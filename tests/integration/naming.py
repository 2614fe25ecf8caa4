"""The file names the brief promises, computed independently of pinfs' C code, so the suite can
say what a mount must show for any state of the fake server."""

import os
from datetime import datetime, timezone

NAME_MAX = 255


def _char(ch, first):
    if ch == "/":
        return "\uff0f"
    if ch == "." and first:
        return "\uff0e"
    if ch in "\t\n\r":
        return " "
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        return "\ufffd"
    return ch


def sanitize(title, ident, reserve=0):
    text = title if title else ident
    out, used = [], 0
    cap = NAME_MAX - reserve
    for i, ch in enumerate(text):
        rep = _char(ch, i == 0)
        size = len(rep.encode())
        if used + size > cap:
            break
        out.append(rep)
        used += size
    return "".join(out)


def created(obj):
    text = obj.get("created_at") or "1970-01-01T00:00:00"
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return int(stamp.timestamp())


def assign(objs, title_key, reserve, reserved=()):
    """Names for objs (given oldest first): {id: name}. The first holder keeps a name."""
    plain, names, later = set(reserved), {}, []
    firsts = {}
    for o in objs:
        cand = sanitize(o.get(title_key), o["id"], reserve)
        if cand in firsts or cand in plain:
            later.append(o)
        else:
            firsts[cand] = o["id"]
            names[o["id"]] = cand
    taken = set(firsts) | set(reserved)
    for o in later:
        base = sanitize(o.get(title_key), o["id"], reserve + len(o["id"]) + 3)
        name = f"{base} {{{o['id']}}}"
        if name in taken:
            base = sanitize(name, o["id"], reserve + len(o["id"]) + 3)
            name = f"{base} {{{o['id']}}}"
        names[o["id"]] = name
    return names


def age_key(o):
    return (created(o), len(o["id"]), o["id"])


def image_ext(url):
    tail = url.rsplit("/", 1)[-1].split("?")[0]
    ext = tail.rsplit(".", 1)[-1].lower() if "." in tail else ""
    return "." + ext if ext in ("png", "gif", "webp", "mp4", "mov") else ".jpg"


def pin_files(pin, prefer=None):
    """The URLs of the files a pin shows, its main one first, and whether the others are a
    carousel's items ("X [2].jpg") rather than a video's cover ("X.jpg" beside "X.mp4")."""
    media = pin.get("media") or {}
    kind = media.get("media_type")
    if kind == "video":
        img = best_image(pin, prefer)
        cover = img["url"] if img else media.get("cover_image_url")
        video = media.get("video_url")
        return ([video] if video else []) + ([cover] if cover else []), False
    if kind and kind.startswith("multiple_"):
        urls = []
        for item in media.get("items") or []:
            if item.get("item_type") == "video":
                url = item.get("video_url") or item.get("cover_image_url")
            else:
                img = best_image({"media": item}, prefer)
                url = img["url"] if img else None
            if url:
                urls.append(url)
        return urls, True
    img = best_image(pin, prefer)
    return ([img["url"]] if img else []), False


def item_count(pin):
    urls, items = pin_files(pin)
    return len(urls) - 1 if items and urls else 0


def settle_items(group, names, reserve_of):
    """A carousel's items take "<name> [k]" too: where another pin holds one, the younger of
    the two takes the suffixed name (names.c's settle_items)."""
    order = {p["id"]: i for i, p in enumerate(group)}
    for _ in range(len(group) + 1):
        holder = {n: pid for pid, n in names.items()}
        loser = None
        for p in group:
            for k in range(2, item_count(p) + 2):
                other = holder.get(f"{names[p['id']]} [{k}]")
                if other and other != p["id"]:
                    loser = p if order[other] < order[p["id"]] else next(
                        q for q in group if q["id"] == other)
                    break
            if loser:
                break
        if not loser:
            return names
        taken = set(names.values())
        base = sanitize(loser.get("title"), loser["id"], reserve_of(loser) + len(loser["id"]) + 3)
        name = f"{base} {{{loser['id']}}}"
        if name in taken:
            base = sanitize(name, loser["id"], reserve_of(loser) + len(loser["id"]) + 3)
            name = f"{base} {{{loser['id']}}}"
        names[loser["id"]] = name
    return names


def best_image(pin, prefer=None):
    images = (pin.get("media") or {}).get("images") or {}
    for key in (prefer, "originals"):
        if key in images:
            return images[key]
    return max(images.values(), key=lambda img: img["width"], default=None)


def expected_tree(state, prefer=None, urls=None):
    """{relative path: ("dir", None) | ("image", pin) | ("part", pin) | ("json", pin) |
    ("board", board)}: "image" is a pin's main file, "part" one beside it (a video's cover, a
    carousel's item). urls, a dict, gets the URL each file reads from, by path."""
    tree = {"boards": ("dir", None)}
    boards = sorted(state["boards"], key=lambda b: (created(b), b["id"]))
    board_names = assign(boards, "name", 0)
    for b in boards:
        top = "boards/" + board_names[b["id"]]
        tree[top] = ("dir", b)
        tree[top + "/.board.json"] = ("board", b)
        sections = state["sections"].get(b["id"], [])
        sec_names = assign(sections, "name", 0)
        sec_ids = {s["id"] for s in sections}
        for s in sections:
            tree[top + "/" + sec_names[s["id"]]] = ("dir", s)
        reserved = {n.rsplit(".", 1)[0] for n in sec_names.values()
                    if n.lower().endswith((".jpg", ".jpeg", ".png", ".gif", ".webp", ".json"))}
        pins = sorted((p for p in state["pins"] if p["board_id"] == b["id"]), key=age_key)
        folders = {}
        for p in pins:
            sid = p.get("board_section_id")
            folders.setdefault(sid if sid in sec_ids else None, []).append(p)
        for sid, group in folders.items():
            names = assign(group, "title", 5, reserved if sid is None else ())
            names = settle_items(group, names, lambda p: 5)
            where = top if sid is None else top + "/" + sec_names[sid]
            for p in group:
                files, items = pin_files(p, prefer)
                for i, url in enumerate(files):
                    suffix = f" [{i + 1}]" if i and items else ""
                    path = f"{where}/{names[p['id']]}{suffix}{image_ext(url)}"
                    tree[path] = ("image" if i == 0 else "part", p)
                    if urls is not None:
                        urls[path] = url
                tree[f"{where}/{names[p['id']]}.json"] = ("json", p)
    return tree


def walk(root):
    """{relative path: "dir" | "file"} of everything under root/boards, as the mount shows it."""
    found = {}
    for top, dirs, files in os.walk(root / "boards"):
        rel = os.path.relpath(top, root)
        found[rel] = "dir"
        for f in files:
            found[os.path.join(rel, f)] = "file"
    return found
