"""One mount session under valgrind's memcheck: reads, writes and folder changes through the
real binary against the fake server, then an unmount. Fails on any invalid read or write, use
of uninitialised memory, or definitely lost block valgrind finds (tests/valgrind/pinfs.supp
lists the process-lifetime allocations of libraries that are not pinfs's, each saying why).

Only for the normal build: valgrind cannot run an ASan binary (tests/run leaves this suite out
of the ASan build, and the test skips itself when it meets one)."""

import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from conftest import PINFS, ROOT

SUPP = ROOT / "tests" / "valgrind" / "pinfs.supp"
# Valgrind runs the daemon some 20-50 times slower: mounting, and exiting with the leak check
# done, take seconds, not milliseconds.
TIMEOUT = 180


def asan_build():
    r = subprocess.run(["ldd", str(PINFS)], capture_output=True, text=True)
    return "libasan" in r.stdout


pytestmark = [
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed"),
    pytest.mark.skipif(asan_build(), reason="valgrind cannot run an ASan build"),
]


def jpeg(color=(200, 30, 30), size=(64, 48)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def session(m, tmp):
    """What a user does in an afternoon: every kind of request pinfs sends and answers."""
    root = m.path()
    # ls -lR: every folder listed, every size asked (the parallel HEADs).
    r = subprocess.run(["ls", "-lR", str(root)], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    boards = sorted(os.listdir(m.path("boards")))
    first = m.path("boards", boards[0])
    # cat images and JSON: downloads into the cache, sidecars, me.json, .board.json, stats.
    files = sorted(os.listdir(first))
    images = [n for n in files if n.endswith((".jpg", ".png", ".gif", ".webp"))]
    for name in images[:3]:
        assert first.joinpath(name).read_bytes()
    for name in [n for n in files if n.endswith(".json")][:3]:
        json.loads(first.joinpath(name).read_text())
    json.loads(m.path("me.json").read_text())
    m.path(".pinfs", "stats").read_text()
    os.listxattr(first / images[0])
    os.getxattr(first / images[0], "user.pinterest.title")
    # Folders: mkdir a board and a section, rename them, then rmdir.
    os.mkdir(m.path("boards", "Valgrind board"))
    os.mkdir(m.path("boards", "Valgrind board", "Part one"))
    os.rename(m.path("boards", "Valgrind board", "Part one"),
              m.path("boards", "Valgrind board", "Part 1"))
    # cp a new JPEG into the board: staging, libmagic, the upload.
    src = Path(tmp) / "photo.jpg"
    src.write_bytes(jpeg())
    subprocess.run(["cp", str(src), str(m.path("boards", "Valgrind board"))], check=True,
                   timeout=TIMEOUT)
    assert m.path("boards", "Valgrind board", "photo.jpg").read_bytes() == src.read_bytes()
    # Edit its sidecar: one PATCH.
    sidecar = m.path("boards", "Valgrind board", "photo.json")
    doc = json.loads(sidecar.read_text())
    doc["title"] = "Photo, retitled"
    doc["description"] = "Crème brûlée 🍮"
    sidecar.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    # mv: retitle and move into the section, then back to a board of the sample account.
    os.rename(m.path("boards", "Valgrind board", "Photo, retitled.jpg"),
              m.path("boards", "Valgrind board", "Part 1", "Moved.jpg"))
    os.rename(m.path("boards", "Valgrind board", "Part 1", "Moved.jpg"), first / "Moved.jpg")
    # rm the pin, rmdir the section and the board.
    os.unlink(first / "Moved.jpg")
    os.rmdir(m.path("boards", "Valgrind board", "Part 1"))
    os.rmdir(m.path("boards", "Valgrind board"))
    assert "Valgrind board" not in os.listdir(m.path("boards"))
    # The generated folders too.
    os.listdir(m.path("pins"))
    os.listdir(m.path("followers"))


def test_a_session_under_valgrind(fake, mount, tmp_path):
    server = fake("boards=3,pins=24,sections=2")
    vglog = tmp_path / "valgrind.log"
    wrapper = ["valgrind", "--tool=memcheck", "--leak-check=full", "--error-exitcode=99",
               "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
               "--num-callers=40", f"--suppressions={SUPP}", f"--log-file={vglog}"]
    m = mount(server, wrapper=wrapper, timeout=TIMEOUT)
    work = tempfile.mkdtemp(prefix="pinfs-vg-")
    try:
        session(m, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    m.unmount()
    report = vglog.read_text(errors="replace")
    tail = "\n".join(report.splitlines()[-60:])
    assert "Invalid read" not in report and "Invalid write" not in report, report
    assert "uninitialised" not in report, report
    assert "definitely lost in loss record" not in report, report
    assert "ERROR SUMMARY: 0 errors" in report, tail
    assert m.proc.returncode not in (99, None), tail
