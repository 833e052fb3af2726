"""The route table: static vs parameter priority, conflicts, ownership, scale."""

from __future__ import annotations

import pytest

from plugins.http.routes import RouteConflictError, RouteTable, normalize_path


def test_leading_slash_is_optional_and_root_stays_root() -> None:
    assert normalize_path("/a/b") == "a/b"
    assert normalize_path("a/b") == "a/b"
    assert normalize_path("/") == "/"
    table = RouteTable()
    table.add("get", "test/py/hello", "t1", "hello")
    match = table.lookup("GET", "/test/py/hello")
    assert match is not None
    assert match[0].value == "hello"
    assert match[0].key == "GET:test/py/hello"
    assert table.lookup("GET", "/test/py/hello/") is None  # trailing slash is significant


def test_params_are_raw_strings_matched_positionally() -> None:
    table = RouteTable()
    table.add("GET", "/users/:id/posts/:post", "t1", "posts")
    match = table.lookup("GET", "/users/a%20b/posts/7")
    assert match is not None
    assert match[1] == {"id": "a%20b", "post": "7"}
    assert table.lookup("GET", "/users//posts/7") is None  # a parameter needs a value
    assert table.lookup("POST", "/users/1/posts/7") is None


def test_static_segment_beats_parameter_with_backtracking() -> None:
    table = RouteTable()
    table.add("GET", "/users/:id", "t1", "by-id")
    table.add("GET", "/users/me", "t2", "me")
    table.add("GET", "/files/static/x", "t3", "static-x")
    table.add("GET", "/files/:name/y", "t4", "param-y")
    me = table.lookup("GET", "/users/me")
    other = table.lookup("GET", "/users/42")
    assert me is not None and me[0].value == "me" and me[1] == {}
    assert other is not None and other[0].value == "by-id" and other[1] == {"id": "42"}
    backtracked = table.lookup("GET", "/files/static/y")
    assert backtracked is not None
    assert backtracked[0].value == "param-y"
    assert backtracked[1] == {"name": "static"}


def test_structural_conflict_keeps_the_first_route() -> None:
    table = RouteTable()
    table.add("GET", "a/:listId/:userId", "t1", "first")
    with pytest.raises(RouteConflictError) as err:
        table.add("GET", "/a/:userId/:listId", "t2", "second")
    assert str(err.value) == (
        "Route 'GET a/:userId/:listId' conflicts with already-registered route "
        "'GET a/:listId/:userId': routes with identical structure but different "
        "path-parameter names are not supported"
    )
    match = table.lookup("GET", "/a/1/2")
    assert match is not None
    assert match[0].value == "first"
    assert match[1] == {"listId": "1", "userId": "2"}
    table.add("POST", "a/:userId/:listId", "t3", "other method")  # methods are separate


def test_same_key_replaces_and_only_the_owner_removes() -> None:
    table = RouteTable()
    table.add("GET", "/items/:id", "old", "v1")
    table.add("GET", "items/:id", "new", "v2")
    assert len(table) == 1
    assert not table.remove("GET", "/items/:id", "old")  # superseded owner
    match = table.lookup("GET", "/items/3")
    assert match is not None and match[0].value == "v2"
    assert table.remove("GET", "/items/:id", "new")
    assert table.lookup("GET", "/items/3") is None
    assert len(table) == 0
    table.add("GET", "/plain", "s", "static")
    assert not table.remove("GET", "/plain", "someone-else")
    assert table.remove("GET", "/plain", "s")
    assert table.lookup("GET", "/plain") is None


def test_removal_prunes_without_disturbing_siblings() -> None:
    table = RouteTable()
    table.add("GET", "/a/:x/b", "t1", "ab")
    table.add("GET", "/a/:x/c", "t2", "ac")
    assert table.remove("GET", "/a/:x/b", "t1")
    assert table.lookup("GET", "/a/1/b") is None
    match = table.lookup("GET", "/a/1/c")
    assert match is not None and match[0].value == "ac"


def test_other_methods_drive_405() -> None:
    table = RouteTable()
    table.add("POST", "/things/:id", "t1", "post")
    table.add("DELETE", "/things/:id", "t2", "delete")
    assert sorted(table.other_methods("GET", "/things/9")) == ["DELETE", "POST"]
    assert table.other_methods("GET", "/nothing") == []


def test_ten_thousand_routes_each_resolve_to_their_own() -> None:
    table = RouteTable()
    for i in range(5000):
        table.add("GET", f"/static/{i}/leaf", f"s{i}", ("static", i))
        table.add("GET", f"/param/{i}/:id/leaf", f"p{i}", ("param", i))
    assert len(table) == 10_000
    for i in (0, 1, 2500, 4999):
        static = table.lookup("GET", f"/static/{i}/leaf")
        param = table.lookup("GET", f"/param/{i}/x{i}/leaf")
        assert static is not None and static[0].value == ("static", i)
        assert param is not None and param[0].value == ("param", i)
        assert param[1] == {"id": f"x{i}"}
    assert table.lookup("GET", "/param/5000/x/leaf") is None
