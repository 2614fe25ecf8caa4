"""docs/connector-map.md: a row for each of the old connector's 24 functions, each naming the
pinfs operation, the v5 call or why there is none, and a test that exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "connector-map.md"

FUNCTIONS = [
    "getAccessToken", "getUser", "getUserBoards", "getBoardSuggestions", "getUserPins",
    "searchUserBoards", "searchUserPins", "getUserFollowers", "getFollowingBoards",
    "getFollowingInterests", "getFollowingUsers", "followBoard", "followUser", "unfollowBoard",
    "unfollowUser", "createBoard", "getBoard", "updateBoard", "deleteBoard", "createPin",
    "updatePin", "getPin", "deletePin", "getBoardPins",
]
# v5 has no endpoint for these: their rows must say so.
WITHOUT_ENDPOINT = {"getBoardSuggestions", "followBoard", "unfollowBoard", "unfollowUser"}


def rows():
    """{function: [pinfs, v5 call, test]} from the doc's table."""
    table = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("function", "") and not cells[0].startswith("-"):
            assert cells[0] not in table, f"{cells[0]} has two rows"
            table[cells[0]] = cells[1:]
    return table


def test_every_function_has_one_row():
    table = rows()
    assert len(FUNCTIONS) == 24
    assert sorted(table) == sorted(FUNCTIONS)
    for name, (pinfs, call, test) in table.items():
        assert pinfs and call and test, name


def test_functions_without_an_endpoint_say_so():
    table = rows()
    for name, (pinfs, call, _) in table.items():
        if name in WITHOUT_ENDPOINT:
            assert call.startswith("none in v5"), name
            assert name == "getBoardSuggestions" or "ENOTSUP" in pinfs, name
        else:
            assert re.search(r"`(GET|POST|PATCH|DELETE) /", call), name


def test_named_tests_exist():
    for name, (_, _, test) in rows().items():
        ref = re.fullmatch(r"`(test_\w+\.py)::(test_\w+)`", test)
        assert ref, f"{name}: the test column reads file::test"
        source = ROOT / "tests" / "integration" / ref.group(1)
        assert source.exists(), f"{name}: {source} is missing"
        assert re.search(rf"^def {ref.group(2)}\(", source.read_text(), re.M), \
            f"{name}: {ref.group(1)} has no {ref.group(2)}"
