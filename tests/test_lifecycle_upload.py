"""Uploads: tagging, the audit (rules as data), rejected and malformed uploads, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.sandbox import Sandbox
from typer.testing import CliRunner

from graphrec import cypher
from graphrec.config import get_settings
from graphrec.db import Graph
from graphrec.errors import ConfigError, InvalidInput, NotFound
from graphrec.lifecycle import budgets
from graphrec.lifecycle.audit import AuditRules, CreatorFacts, audit, load_rules
from graphrec.lifecycle.tagging import (
    caption_categories,
    infer_category,
    normalise_hashtag,
    normalise_hashtags,
    tag_upload,
)
from graphrec.lifecycle.upload import parse_uploads, upload_many, upload_video

RULES = load_rules()


# --- pure logic ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("#Dance", "dance"),
        ("##DanceTok!", "dancetok"),
        (" cat_Video ", "cat_video"),
        ("#\uff23\uff41\uff54", "cat"),
        ("#🔥", ""),
        ("Café", "café"),
    ],
)
def test_normalise_hashtag(raw: str, tag: str) -> None:
    assert normalise_hashtag(raw) == tag


def test_hashtags_from_caption_and_list_are_deduplicated() -> None:
    assert normalise_hashtags(["#Dog", "dog", "#"], "my #DOG and #cat") == ["dog", "cat"]


@pytest.mark.parametrize(
    ("tag", "category"),
    [
        ("dancetok", "dance"),
        ("puppylove", "pets"),
        ("minecraftbuilds", "gaming"),
        ("zzqx", "other"),
        ("ai", "other"),
    ],
)
def test_infer_category(tag: str, category: str) -> None:
    assert infer_category(tag) == category


def test_caption_keywords_map_to_categories() -> None:
    assert caption_categories("My DOG learns a new dance!") == ["pets", "dance"]
    tags = tag_upload(["zzqx", "cat"], "easy dinner recipe", {"cat": "pets"})
    assert [(t.tag, t.category, t.source, t.new) for t in tags] == [
        ("zzqx", "other", "hashtag", True),
        ("cat", "pets", "hashtag", False),
        ("food", "food", "caption", True),
    ]


CLEAN = CreatorFacts("c1")


@pytest.mark.parametrize(
    ("caption", "hashtags", "facts", "reason"),
    [
        ("nice dance", ["dance"], CLEAN, None),
        ("get FREE FOLLOWERS now", [], CLEAN, "banned term: 'free followers'"),
        ("hello", ["buyfollowers"], CLEAN, "banned term: 'buy followers'"),
        ("scammer tips", [], CLEAN, None),  # whole words only
        ("many tags", [f"t{i}" for i in range(31)], CLEAN, "spam: hashtag stuffing (31 > 30)"),
        ("many tags", [f"t{i}" for i in range(30)], CLEAN, None),
        ("see https://x.example", [], CLEAN, "spam: link bait in caption"),
        ("full video: link in bio", [], CLEAN, "spam: link bait in caption"),
        ("sooooooooo good", [], CLEAN, "spam: repeated characters (8 or more in a row)"),
        ("soooooo good", [], CLEAN, None),
        (
            "again",
            [],
            CreatorFacts("c1", duplicate_of="v1"),
            "duplicate: same caption as v1 from this creator",
        ),
        ("hi", [], CreatorFacts("c1", strikes=3), "creator under strikes (3 >= 3)"),
        ("hi", [], CreatorFacts("c1", strikes=2), None),
    ],
)
def test_audit_rules(caption: str, hashtags: list[str], facts: CreatorFacts, reason: str) -> None:
    reasons = audit(caption=caption, hashtags=hashtags, facts=facts, rules=RULES)
    assert reasons == ([reason] if reason else [])


def test_audit_rules_are_data(tmp_path: Path) -> None:
    f = tmp_path / "rules.toml"
    f.write_text('max_hashtags = 2\nbanned_terms = ["pineapple pizza"]\n')
    rules = load_rules(f)
    got = audit(caption="Pineapple pizza!", hashtags=["a", "b", "c"], facts=CLEAN, rules=rules)
    assert got == ["banned term: 'pineapple pizza'", "spam: hashtag stuffing (3 > 2)"]
    f2 = tmp_path / "bad.toml"
    f2.write_text('link_bait_patterns = ["("]\n')
    with pytest.raises(ConfigError):
        load_rules(f2)
    f2.write_text("max_hashtag = 3\n")
    with pytest.raises(ConfigError, match="unknown keys"):
        load_rules(f2)
    assert isinstance(RULES, AuditRules)


# --- against Neo4j -----------------------------------------------------------------------------
@pytest.fixture
def sandbox(graph: Graph) -> Sandbox:
    sb = Sandbox(graph)
    sb.creators("newbie", score=0.5)
    sb.creators("struck", strikes=3, score=0.2)
    sb.users("u1")
    return sb


def counts(graph: Graph) -> dict[str, int]:
    return graph.read("lifecycle/sandbox_counts")[0]


def test_approved_upload_is_tagged_and_enters_cold_start(graph: Graph, sandbox: Sandbox) -> None:
    res = upload_video(
        graph,
        {
            "id": "up1",
            "creator": "newbie",
            "caption": "my puppy learns a trick #DogTraining",
            "hashtags": ["#Dog", "zzqx"],
        },
        now=sandbox.now,
    )
    assert res.status == "approved" and res.reasons == []
    assert res.pool == "cold_start" and 200 <= (res.budget or 0) <= 300
    cats = {t["tag"]: (t["category"], t["new"]) for t in res.tags}
    assert cats == {
        "dog": ("pets", False),
        "zzqx": ("other", True),
        "dogtraining": ("pets", True),  # inferred from its text
        "pets": ("pets", False),  # from the caption keyword "puppy"
    }
    state = graph.read("pools/video_state", video_ids=["up1"])[0]
    assert state["pool"] == "cold_start" and state["served"] == 0
    rows = graph.read("lifecycle/sandbox_video_tags", video_id="up1")
    assert {(r["tag"], r["category"]) for r in rows} == {
        ("dog", "pets"),
        ("zzqx", "other"),
        ("dogtraining", "pets"),
        ("pets", "pets"),
    }
    assert [r["video_id"] for r in budgets.cold_start_candidates(graph, "u1")] == ["up1"]


def test_rejected_upload_keeps_reasons_is_never_listed_and_costs_score(
    graph: Graph, sandbox: Sandbox
) -> None:
    before = graph.read("lifecycle/sandbox_creator", creator_id="newbie")[0]["account_score"]
    res = upload_video(
        graph,
        {
            "id": "bad1",
            "creator": "newbie",
            "caption": "free followers, link in bio",
            "hashtags": [f"tag{i}" for i in range(40)],
        },
        now=sandbox.now,
    )
    assert res.status == "rejected" and res.pool is None
    assert res.reasons == [
        "banned term: 'free followers'",
        "spam: hashtag stuffing (40 > 30)",
        "spam: link bait in caption",
    ]
    state = graph.read("pools/video_state", video_ids=["bad1"])[0]
    assert state["status"] == "rejected" and state["reasons"] == res.reasons
    assert state["pool"] is None
    assert budgets.cold_start_candidates(graph, "u1") == []
    assert budgets.record_impressions(graph, "u1", ["bad1"]) == {"bad1": False}
    after = graph.read("lifecycle/sandbox_creator", creator_id="newbie")[0]
    assert after["account_score"] == pytest.approx(before - 0.05)
    assert after["rejections"] == 1


def test_duplicate_caption_and_strikes_are_rejected(graph: Graph, sandbox: Sandbox) -> None:
    ok = upload_video(graph, {"id": "a", "creator": "newbie", "caption": "My Cat"})
    dup = upload_video(graph, {"id": "b", "creator": "newbie", "caption": "  my   cat "})
    assert ok.status == "approved"
    assert dup.status == "rejected" and dup.reasons == [
        "duplicate: same caption as a from this creator"
    ]
    struck = upload_video(graph, {"id": "c", "creator": "struck", "caption": "My Cat"})
    assert struck.reasons == ["creator under strikes (3 >= 3)"]


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        (b'{"creator": "ghost", "caption": "hi"}', NotFound, "no creator 'ghost'"),
        (b'{"caption": "hi"}', InvalidInput, "creator is required"),
        (b'{"creator": "newbie", "caption": "   "}', InvalidInput, "caption is required"),
        (b'{"creator": "newbie"}', InvalidInput, "caption is required"),
        (
            json.dumps(
                {"creator": "newbie", "caption": "hi", "hashtags": [f"t{i}" for i in range(500)]}
            ).encode(),
            InvalidInput,
            "500 hashtags",
        ),
        (b'{"creator": "newbie", "caption": "caf\xe9"}', InvalidInput, "not valid UTF-8"),
        (b'{"creator": "newbie", "caption": "\\ud800"}', InvalidInput, "not valid UTF-8"),
        (b'{"creator": "newbie", "caption": ', InvalidInput, "not valid JSON"),
        (
            b'[{"creator": "newbie", "caption": "fine"}, {"creator": "newbie", "caption": ""}]',
            InvalidInput,
            "caption is required",
        ),
        (
            b'[{"creator": "newbie", "caption": "fine"}, {"creator": "ghost", "caption": "x"}]',
            NotFound,
            "no creator 'ghost'",
        ),
        (b'{"creator": "newbie", "caption": "hi", "duration_ms": -5}', InvalidInput, "duration_ms"),
        (
            b'{"creator": "newbie", "caption": "hi", "hashtags": "dance"}',
            InvalidInput,
            "list of strings",
        ),
    ],
)
def test_malformed_upload_gives_clear_error_and_stores_nothing(
    graph: Graph, sandbox: Sandbox, payload: bytes, error: type[Exception], message: str
) -> None:
    before = counts(graph)
    with pytest.raises(error, match=message):
        upload_many(graph, parse_uploads(payload))
    assert counts(graph) == before


def test_new_video_is_embedded_when_learning_can(graph: Graph, sandbox: Sandbox) -> None:
    if "learn/embed_new_video" not in cypher.library():
        pytest.skip("learn/embed_new_video is not in the query library yet")
    graph.write("lifecycle/sandbox_tag_embedding", tag="dance", embedding=[0.5] * 64)
    res = upload_video(graph, {"id": "e1", "creator": "newbie", "caption": "dance", "hashtags": []})
    assert res.embedded
    plain = upload_video(graph, {"id": "e2", "creator": "newbie", "caption": "zzqx"})
    assert plain.status == "approved" and not plain.embedded


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, session_graph: Graph, neo4j_server: object) -> None:
    conn = neo4j_server.connection  # type: ignore[attr-defined]
    monkeypatch.setenv("NEO4J_URI", conn.uri)
    monkeypatch.setenv("NEO4J_USER", conn.user)
    monkeypatch.setenv("NEO4J_PASSWORD", conn.password)
    monkeypatch.setenv("GRAPHREC_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_upload(graph: Graph, sandbox: Sandbox, cli_env: None, tmp_path: Path) -> None:
    from graphrec.cli import app

    good = tmp_path / "up.json"
    good.write_text(json.dumps({"id": "cli1", "creator": "newbie", "caption": "my dog"}))
    res = CliRunner().invoke(app, ["videos", "upload", str(good), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["status"] == "approved"
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"creator": "newbie", "caption": "\xff"}')
    res = CliRunner().invoke(app, ["videos", "upload", str(bad)])
    assert res.exit_code != 0 and "not valid UTF-8" in res.output
    assert [r["video_id"] for r in graph.read("lifecycle/sandbox_snapshot")] == ["cli1"]
