"""``POST /events`` on the spine: validate, check ids in Redis, append, move online state.

Each event is checked on its own (the :class:`~graphrec.events.Event` model, then unknown
video, rejected video and unknown creator against the catalogue in Redis: no Neo4j read).
The good ones go, partition by partition, through one atomic script (``lua/append_events``):
unknown user, dedup by ``event_id`` (``SET NX`` kept ``stream_dedup_ttl_s``), the stream entry
and the user's online state. The reply comes after Redis answered, i.e. after the entries are
in its append-only file. The graph writer (:mod:`graphrec.spine.writer`) later stores them in
Neo4j, where the ``event_id`` uniqueness constraints stay the final guard against repeats.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import orjson
import redis

from graphrec.errors import InvalidInput
from graphrec.events import (
    KIND_WEIGHTS,
    MAX_WEIGHT,
    MIN_WEIGHT,
    Event,
    Fields,
    IngestResult,
    validate_fields,
)
from graphrec.spine.store import RECENT, Spine, seen_bits, store_error


def _exact_step(w: float) -> list[int] | None:
    """A weight as ``append_events.lua``'s Redis receives it (a Lua number is sent as
    ``%.17g``), split into tenths and a remainder of 1e-17 units: ``[tenths, r]``, exact, so
    the script can sum a user's steps of one tag without rounding. None when the weight has
    more than 17 decimals or a large remainder: that kind is then applied step by step."""
    d = Decimal(f"{w:.17g}").scaleb(17)
    if d != d.to_integral_value():
        return None
    n = int(d)
    tenths = (n + 5 * 10**15) // 10**16
    r = n - tenths * 10**16
    return [tenths, r] if abs(r) < 10_000 else None


# kind -> [tenths, r] of its weight: the script's exact sums of tag steps (lua/append_events).
WEIGHT: dict[str, float] = {k.value: w for k, w in KIND_WEIGHTS.items()}
STEPS: dict[str, list[int]] = {
    k.value: st for k, w in KIND_WEIGHTS.items() if w and (st := _exact_step(w)) is not None
}


def video_facts(spine: Spine, video_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Facts (creator, tags, status, reasons) of the known videos among ``video_ids``."""
    ids = list(dict.fromkeys(video_ids))
    if not ids:
        return {}
    raw = spine.r.hmget(spine.keys.videos, ids)
    return {v: orjson.loads(x) for v, x in zip(ids, raw, strict=True) if x is not None}


def append_events(
    spine: Spine,
    events: Iterable[Event | Mapping[str, Any]],
    *,
    now: int | None = None,
    floats: bool = True,
) -> IngestResult:
    """Append a batch (the good events), acknowledge repeats, report each bad one.

    ``floats=False`` (a body orjson read): an event the model must read holding a float
    raises :class:`~graphrec.events.FloatSeen` before anything is written."""
    s = spine.settings
    started = time.perf_counter()
    raw = list(events)
    if len(raw) > s.events_max_batch:
        raise InvalidInput(
            f"events: a batch holds at most {s.events_max_batch} events, got {len(raw)}"
        )
    now = now if now is not None else int(time.time() * 1000)
    good, bad = validate_fields(raw, now=now, max_future_ms=s.events_max_future_ms, floats=floats)
    result = IngestResult(rejected=list(bad))
    try:
        _append(spine, good, result, now)
    except redis.RedisError as e:
        raise store_error(e) from e
    result.rejected.sort()
    result.seconds = time.perf_counter() - started
    return result


def _append(spine: Spine, good: list[tuple[int, Fields]], result: IngestResult, now: int) -> None:
    s, k = spine.settings, spine.keys
    batch: list[tuple[int, Fields]] = []
    ids: set[str] = set()
    for i, e in good:
        if e.event_id in ids:  # repeated inside this batch
            result.duplicates += 1
            continue
        ids.add(e.event_id)
        batch.append((i, e))
    if not batch:
        return
    facts = video_facts(spine, (e.video_id for _, e in batch if e.video_id))
    creators = sorted({e.creator_id for _, e in batch if e.creator_id})
    known_creators = (
        {c for c, ok in zip(creators, spine.r.smismember(k.creators, creators), strict=True) if ok}
        if creators
        else set()
    )
    m = s.seen_bloom_bits
    by_part: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    weighted: set[str] = set()
    vids: dict[str, list[Any]] = {}  # video -> [tags, seen bits]
    part_of: dict[str, int] = {}
    for i, (eid, uid, kind, v, cid, wm, at) in batch:
        f = facts.get(v) if v else None
        if v is not None and f is None:
            result.rejected.append((i, f"video_id: unknown video {v!r}"))
            continue
        if f is not None and f.get("status") != "approved":
            why = "; ".join(f.get("reasons") or []) or "not approved"
            result.rejected.append(
                (i, f"video_id: video {v!r} is {f.get('status')} ({why}): no events")
            )
            continue
        creator = cid or (f["creator_id"] if f else None)
        if cid is not None and cid not in known_creators:
            result.rejected.append((i, f"creator_id: unknown creator {cid!r}"))
            continue
        if kind == "follow" and creator is None:
            result.rejected.append((i, "creator_id: unknown creator"))
            continue
        w = WEIGHT[kind]
        row: dict[str, Any] = {
            "id": eid,
            "u": uid,
            "k": kind,
            "at": at if at is not None else now,
            "w": w,
        }
        if v:
            row["v"] = v
            if v not in vids:  # a batch repeats videos: their facts go once
                # The bits as text: the script passes them to Redis as they are (a Lua
                # number would be formatted again for every user of the video).
                bits = [str(b) for b in seen_bits(v, m)]
                vids[v] = [(f or {}).get("tags") or [], bits]
            if w:
                weighted.add(v)
        if creator:
            row["c"] = creator
        if wm is not None:
            row["wm"] = wm
        p = part_of.get(uid)
        if p is None:  # a crc32 per user, not per event
            p = part_of[uid] = k.part(uid)
        by_part.setdefault(p, []).append((i, row))
    if not by_part:
        return
    vecs: dict[str, bytes] = {}
    if weighted:
        wl = sorted(weighted)
        vecs = {v: x for v, x in zip(wl, spine.r.hmget(k.vemb, wl), strict=True) if x}
    common = {
        "ttl": s.stream_dedup_ttl_s,
        "maxlen": s.stream_maxlen,
        "rate": s.online_embedding_rate,
        "minw": MIN_WEIGHT,
        "maxw": MAX_WEIGHT,
        "dim": s.embedding_dim,
        "recent": RECENT,
        "qdelay": s.queue_fill_delay_ms,
        "steps": STEPS,
    }
    pipe = spine.r.pipeline(transaction=False)
    order = sorted(by_part)
    calls: list[list[Any]] = []
    for p in order:
        rows = [r for _, r in by_part[p]]
        used = {r["v"] for r in rows if "v" in r}
        mine = sorted({r["v"] for r in rows if r["w"] and r.get("v") in vecs})
        req = {**common, "vids": {v: vids[v] for v in used}, "events": rows}
        args: list[Any] = [k.prefix(p), orjson.dumps(req)]
        for v in mine:
            args += [v, vecs[v]]
        calls.append(args)
        spine.append_script(
            keys=[k.stream(p), k.users(p)],
            args=args,
            client=pipe,
        )
    answers = pipe.execute(raise_on_error=False)
    lost = [i for i, a in enumerate(answers) if isinstance(a, redis.exceptions.NoScriptError)]
    if lost:  # a Cluster node that lost its scripts (restart, failover): load, run those again
        spine.load_scripts()
        for i in lost:
            answers[i] = spine.append_script(keys=[k.stream(order[i]), k.users(order[i])],
                                             args=calls[i])  # fmt: skip
    for a in answers:
        if isinstance(a, Exception):
            raise a
    for p, statuses in zip(order, answers, strict=True):
        for (i, row), st in zip(by_part[p], statuses, strict=True):
            st = st.decode() if isinstance(st, bytes) else str(st)
            if st == "accepted":
                result.accepted += 1
            elif st == "duplicate":
                result.duplicates += 1
            else:
                result.rejected.append((i, f"user_id: unknown user {row['u']!r}"))


__all__ = ["append_events", "video_facts"]
