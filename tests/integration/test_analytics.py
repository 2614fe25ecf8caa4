"""analytics.json: the account's analytics of the last 30 days, what it costs, what it refuses."""

import datetime
import json
import os
import re
import stat
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

import pytest

ROUTE = "GET /v5/user_account/analytics"


def asked(server):
    """The analytics requests the server saw, as {name: value} of their queries."""
    return [{k: v[-1] for k, v in parse_qs(r["query"]).items()}
            for r in server.admin("GET", "requests")["requests"] if r["route"] == ROUTE]


def last_30_days():
    """The (start_date, end_date) pinfs asks for now: today (UTC) and 30 days before."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    return str(today - datetime.timedelta(days=30)), str(today)


@pytest.fixture
def sample(fake, mount):
    server = fake("sample")
    m = mount(server)
    server.reset_counts()
    return server, m


def test_the_root_lists_it_without_asking(sample):
    server, m = sample
    names = os.listdir(m.dir)
    at = names.index("analytics.json")
    assert names[at - 1] == "following" and names[at + 1] == ".pinfs"
    out = subprocess.run(["ls", str(m.dir)], capture_output=True, text=True, check=True).stdout
    assert "analytics.json" in out.split()
    assert asked(server) == []


def test_cat_is_the_last_30_days_once(sample):
    server, m = sample
    before = last_30_days()
    text = subprocess.run(["cat", str(m.path("analytics.json"))], capture_output=True, text=True,
                          check=True).stdout
    after = last_30_days()
    answer = json.loads(text)
    days = answer["all"]["daily_metrics"]
    assert len(days) == 31 and "\n\t" in text   # pretty, as cJSON prints
    queries = asked(server)
    assert len(queries) == 1
    got = (queries[0]["start_date"], queries[0]["end_date"])
    assert got in (before, after)
    start, end = (datetime.date.fromisoformat(d) for d in got)
    assert (end - start).days == 30 and days[0]["date"] == got[0] and days[-1]["date"] == got[1]
    assert answer == server.v5("GET", f"/user_account/analytics?start_date={got[0]}&end_date={got[1]}")


def test_stat_asks_nothing_and_a_read_asks_once(sample):
    server, m = sample
    path = m.path("analytics.json")
    st = os.stat(path)   # not read yet: its size is not known, and nothing is asked
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o444 and st.st_size == 0
    subprocess.run(["ls", "-lR", str(m.dir)], capture_output=True, check=True)
    assert asked(server) == []   # a walk of the whole mount costs no analytics request
    t0 = time.time()
    data = path.read_bytes()
    assert len(data) > 0 and len(asked(server)) == 1
    st = os.stat(path)   # read within the TTL: the kept answer's size and time
    assert st.st_size == len(data)
    assert int(t0) - 1 <= st.st_mtime <= time.time() + 1   # when it was fetched
    subprocess.run(["ls", "-l", str(m.dir)], capture_output=True, check=True)
    assert path.read_bytes() == data
    assert len(asked(server)) == 1


def test_read_again_after_the_ttl(fake, mount):
    server = fake("sample")
    m = mount(server, opts=("dir_cache_ttl=1",))
    server.reset_counts()
    path = m.path("analytics.json")
    first = path.read_bytes()
    assert len(asked(server)) == 1
    time.sleep(1.5)
    assert path.read_bytes() == first   # the same days, the same numbers
    assert len(asked(server)) == 2


def test_readers_at_once_send_one_request(sample):
    server, m = sample
    server.admin("POST", "latency", {"ms": 300})
    path = m.path("analytics.json")
    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(lambda _: path.read_bytes(), range(8)))
    assert len(set(texts)) == 1 and len(asked(server)) == 1


def test_changes_are_refused(sample):
    server, m = sample
    path = m.path("analytics.json")
    text = path.read_bytes()
    changes = (lambda: open(path, "w"),
               lambda: open(path, "a"),
               lambda: os.close(os.open(path, os.O_WRONLY | os.O_CREAT)),   # touch's open
               lambda: os.truncate(path, 0),
               lambda: os.unlink(path),
               lambda: os.rename(path, m.path("old.json")))
    for change in changes:
        with pytest.raises(PermissionError):
            change()
    with pytest.raises(NotADirectoryError):
        open(m.path("analytics.json", "x"), "w")
    assert path.read_bytes() == text
    methods = {r["method"] for r in server.admin("GET", "requests")["requests"]}
    assert methods <= {"GET", "HEAD"}, methods


def test_a_403_is_eacces_and_said_once(sample):
    server, m = sample
    m.expect_log(r"GET /user_account/analytics.*HTTP 403")
    why = "Not authorized to access the user account analytics."
    server.fault(route=ROUTE, count=5, action="status", status=403,
                 body={"code": 403, "message": why})
    for _ in range(2):
        with pytest.raises(PermissionError):
            m.path("analytics.json").read_bytes()
    r = subprocess.run(["cat", str(m.path("analytics.json"))], capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    lines = [line for line in m.log().splitlines() if re.search(r"user_account/analytics", line)]
    assert len(lines) == 1 and why in lines[0], lines
    assert len(asked(server)) == 1   # the refusal is kept for the TTL too
    # The rest of the mount is untouched.
    assert "analytics.json" in os.listdir(m.dir)
    assert json.loads(m.path("me.json").read_text())["username"] == "demo_pinner"
    assert "Recipes" in os.listdir(m.path("boards"))
