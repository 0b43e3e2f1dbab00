"""POST /events bodies for tests/test_events_fastpath.py: well-formed, malformed and odd."""

from __future__ import annotations

import json
from typing import Any

U, U2 = "u0000000", "u0000001"  # world S, seed 7
V, V2 = "v00000000", "v00000001"  # approved
R = "v00000153"  # rejected: spam
C = "c000000"
JSON = {"Content-Type": "application/json"}


def ev(i: str, kind: str = "view", **more: Any) -> dict[str, Any]:
    e: dict[str, Any] = {"event_id": f"fp-{i}", "user_id": U, "kind": kind}
    if kind != "follow":
        e["video_id"] = V
    e.update(more)
    return {k: v for k, v in e.items() if v is not ...}


def j(x: Any) -> bytes:
    return json.dumps(x).encode()


def cases(max_batch: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """(name, body, headers besides the key): every case posts fresh event ids but where it
    repeats one on purpose."""
    out: list[tuple[str, bytes, dict[str, str]]] = []

    def add(name: str, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else j(body)
        out.append((name, raw, JSON if headers is None else headers))

    add("one", ev("one"))
    add("batch", [ev("b1", watch_ms=5400), ev("b2", "like", at=1_700_000_000_000),
                  ev("b3", "follow", creator_id=C), ev("b4", "follow", video_id=V2),
                  ev("b5", "impression", user_id=U2, video_id=V2)])  # fmt: skip
    for n, wm in enumerate([5400.0, 5400.5, "5400", True, False, None, -1, 86_400_001, 86_400_000,
                            1e300, [], {}, 0]):  # fmt: skip
        add(f"watch_ms-{n}", [ev(f"wm{n}", watch_ms=wm), ev(f"wmok{n}")])
    for n, at in enumerate([1.7e12, 1_700_000_000_000.5, "1700000000000", True, -5, 0,
                            4_000_000_000_000, None]):  # fmt: skip
        add(f"at-{n}", [ev(f"at{n}", at=at), ev(f"atok{n}")])
    for n, field in enumerate(["event_id", "user_id", "kind", "video_id"]):
        add(f"missing-{n}", [ev(f"m{n}", **{field: ...}), ev(f"mok{n}")])
    add("missing-all", [{}])
    add("extra", [ev("x1", extra=1), ev("x2", Kind="view")])
    for n, bad in enumerate(["", " u1", "a/b", "x" * 129, "x" * 128, 7, None, "ü1", "-u1",
                             "u\u200b1", "u\x001", ["u1"]]):  # fmt: skip
        add(f"bad-id-{n}", [ev(f"id{n}", user_id=bad), ev(f"vid{n}", video_id=bad),
                            {**ev("ignored"), "event_id": bad}, ev(f"ok{n}")])  # fmt: skip
    for n, kind in enumerate(["dislike", "View", 3, None, ""]):
        add(f"kind-{n}", [ev(f"k{n}", kind=kind)])
    add("follow-nothing", [ev("f1", "follow")])
    add("follow-both", [ev("f2", "follow", creator_id=C, video_id=V)])
    add("view-creator", [ev("f3", creator_id=C)])
    add("follow-unknown", [ev("f4", "follow", creator_id="c999999"), ev("f5")])
    add("follow-rejected-video", [ev("f6", "follow", video_id=R)])
    add("unknown-user", [ev("uu1", user_id="u9999999"), ev("uu2")])
    add("unknown-user-only", [ev("uu3", user_id="u9999999")])
    add("unknown-video", [ev("uv1", video_id="v99999999"), ev("uv2", video_id=R)])
    add("dup-in-batch", [ev("d1"), ev("d2"), ev("d1", "like"), ev("d2")])
    add("dup-again", [ev("d1"), ev("d2")])
    add("dup-and-bad", [ev("d1"), ev("d3", kind="nope")])
    add("all-bad", [ev("ab1", kind="nope"), ev("ab2", watch_ms="1"), 5, "x", None, [ev("ab3")]])
    for n, key in enumerate(["\x01", "\u2028", "é", "\U0001f600", "\x7f", "</script>", "a\"b\\",
                             "k" * 400]):  # fmt: skip
        add(f"odd-key-{n}", [{**ev(f"ok{n}a"), key: 1}, ev(f"ok{n}b")])
        add(f"odd-key-only-{n}", [{**ev(f"ok{n}c"), key: 1}])
    add("too-large", [ev(f"tl{n}") for n in range(max_batch + 1)])
    add("largest", [ev(f"lg{n}", user_id=[U, U2][n % 2]) for n in range(max_batch)])
    add("empty-list", [])
    add("empty-object", {})
    for n, raw in enumerate([b"", b"{", b"nope", b"[1,", b"\xff\xfe", b"\xff[]", b"NaN", b"5",
                             b"null", b'"x"', b"true", b"[1, 2]", b"[[]]", b"[null]",
                             b'{"event_id": "fp-nan", "user_id": "u0000000", "kind": "view",'
                             b' "video_id": "v00000000", "watch_ms": NaN}',
                             b'[{"event_id": "fp-inf", "user_id": "u0000000", "kind": "view",'
                             b' "video_id": "v00000000", "at": 1e400}]',
                             b'[{"event_id": "fp-big", "user_id": "u0000000", "kind": "view",'
                             b' "video_id": "v00000000", "at": 123456789012345678901234567890}]',
                             b'[{"event_id": "fp-dk", "user_id": "u0000000", "kind": "x",'
                             b' "kind": "view", "video_id": "v00000000"}]',
                             b'[{"event_id": "fp-sur", "user_id": "u0000000", "kind": "view",'
                             b' "video_id": "v00000000", "\\ud800": 1}]',
                             b'[{"event_id": "fp-\\u0075", "user_id": "u000000\\u0030",'
                             b' "kind": "view", "video_id": "v00000000"}]',
                             '[{"event_id": "fp-é", "user_id": "u0000000"}]'.encode(),
                             b'\xef\xbb\xbf[{"event_id": "fp-bom", "user_id": "u0000000",'
                             b' "kind": "view", "video_id": "v00000000"}]',
                             b' \n\t[{"event_id": "fp-ws", "user_id": "u0000000", "kind": "view",'
                             b' "video_id": "v00000000"}] \n',
                             b'[{"event_id": "fp-neg0", "user_id": "u0000000", "kind": "view",'
                             b' "video_id": "v00000000", "watch_ms": -0}]',
                             b'[{"event_id": "fp-exp", "user_id": "u0000000", "kind": "view",'
                             b' "video_id": "v00000000", "watch_ms": 5.4e3}]',
                             '[{"event_id": "fp-utf16", "user_id": "u0000000", "kind": "view",'
                             ' "video_id": "v00000000"}]'.encode("utf-16"),
                             b"[]  x"]):  # fmt: skip
        add(f"raw-{n}", raw)
    body = j([ev("ct1")])
    for n, ct in enumerate(["text/plain", "", "application/json; charset=utf-8",
                            "application/vnd.api+json", "APPLICATION/JSON", "application/x-json",
                            "multipart/form-data"]):  # fmt: skip
        add(f"content-type-{n}", body.replace(b"ct1", f"ct1-{n}".encode()),
            {"Content-Type": ct} if ct else {})  # fmt: skip
    return out
