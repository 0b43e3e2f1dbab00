"""``/dashboard``: server-rendered pages for operators and analysts (read-only).

Pages: the pool funnel with live counts, the audit and the last cycle's moves (``/dashboard``);
boost and trending videos with scores and rates (``/pools``); a user's feed with each item's
reason (``/feed``); a creator with spillover (``/creators``); interest communities
(``/communities``); event rate, stream lag and feed latency (``/activity``). Panels under
``/dashboard/panels/`` are the same fragments htmx swaps in (a typed user id, the live
counts every few seconds). Nothing here writes: the feed shown is a preview (no impression
recorded). Every asset (htmx, the stylesheet) is served by the app; plots are inline SVG.
Behind the read key when reads require one, like every read route.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api import plots
from api.deps import GraphDep, ReadKey, RecommenderDep
from graphrec import accounts, dashboard
from graphrec.dashboard import ServingMeter
from graphrec.errors import GraphrecError

HERE = Path(__file__).resolve().parent.parent
STATIC_DIR = HERE / "static"
STATIC_URL = "/static/dashboard"
FEED_N = 10
NONE = "\N{EN DASH}"  # an empty figure
IdParam = Query(max_length=128, description="an id to show")

templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(
    prefix="/dashboard",
    tags=["dashboard"],
    dependencies=[ReadKey],
    include_in_schema=False,
    default_response_class=HTMLResponse,
)


# --- formatting -----------------------------------------------------------------------------
def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return NONE
    return f"{value:,.{digits}f}"


def _pct(value: Any) -> str:
    return NONE if value is None else f"{100 * value:.1f} %"


def _ms(value: Any) -> str:
    if value is None:
        return NONE
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _when(epoch_ms: Any) -> str:
    if not epoch_ms:
        return NONE
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


templates.env.filters.update(num=_num, pct=_pct, ms=_ms, when=_when)
templates.env.globals.update(static=STATIC_URL)


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _meter(request: Request) -> ServingMeter:
    return request.app.state.meter


# --- what each panel needs ------------------------------------------------------------------
def _funnel(graph: GraphDep) -> dict[str, Any]:
    pools = dashboard.funnel(graph)
    named = [p["name"] or p["pool"] for p in pools]
    return {
        "pools": pools,
        "audit": dashboard.audit(graph),
        "funnel_svg": plots.hbar(
            named, [p["videos"] for p in pools], label="videos in each pool (log scale)", log=True
        ),
        "checked_at": _when(datetime.now(UTC).timestamp() * 1000),
    }


def _activity(request: Request, graph: GraphDep) -> dict[str, Any]:
    spine = getattr(request.app.state, "spine", None)
    live = dashboard.live_metrics(graph, _meter(request), spine=spine)
    return {
        "live": live,
        "latency_svg": plots.series(
            live.latency_series, label="feed latency (ms)", xlabel="seconds ago"
        ),
        "rate_svg": plots.series(
            live.rate_series, label="events / s", xlabel="seconds ago", marker=True
        ),
    }


def _feed(recommender: RecommenderDep, user_id: str | None) -> dict[str, Any]:
    if not user_id:
        return {"user_id": None}
    try:
        feed = recommender.feed(user_id, FEED_N, record=False)
    except GraphrecError as e:
        return {"user_id": user_id, "error": str(e), "status": e.http_status}
    items = [it.as_dict() for it in feed.items]
    sources: dict[str, int] = {}
    for it in items:
        sources[it["source"]] = sources.get(it["source"], 0) + 1
    return {
        "user_id": user_id,
        "scenario": feed.scenario,
        "items": items,
        "took_ms": feed.took_ms,
        "candidates": feed.candidates,
        "sources_svg": plots.hbar(list(sources), list(sources.values()), label="items by source"),
    }


def _creator(graph: GraphDep, creator_id: str | None) -> dict[str, Any]:
    if not creator_id:
        return {"creator_id": None}
    try:
        page = accounts.creator_page(graph, creator_id)
    except GraphrecError as e:
        return {"creator_id": creator_id, "error": str(e), "status": e.http_status}
    return {"creator_id": creator_id, "creator": page}


# --- pages ----------------------------------------------------------------------------------
@router.get("")
def read_dashboard(request: Request, graph: GraphDep) -> HTMLResponse:
    """The pool funnel (live counts), the audit and the last cycle's moves."""
    cycle = dashboard.last_cycle(graph)
    cycle_svg = None
    if cycle and cycle["transitions"]:
        moves = cycle["transitions"]
        cycle_svg = plots.hbar(list(moves), list(moves.values()), label="videos moved")
    return _page(
        request,
        "dashboard/overview.html",
        active="overview",
        cycle=cycle,
        cycle_svg=cycle_svg,
        **_funnel(graph),
        **_activity(request, graph),
    )


@router.get("/pools")
def read_dashboard_pools(request: Request, graph: GraphDep) -> HTMLResponse:
    """Boost and trending videos with their scores and engagement rates."""
    shown = []
    for pool in dashboard.SHOWN_POOLS:
        videos = dashboard.pool_videos(graph, pool)
        svg = None
        if videos:
            svg = plots.hbar(
                [v["video_id"] for v in videos],
                [v["score"] or 0 for v in videos],
                label=f"score of the top {pool} videos",
            )
        shown.append({"pool": pool, "videos": videos, "svg": svg})
    return _page(request, "dashboard/pools.html", active="pools", shown=shown)


@router.get("/feed")
def read_dashboard_feed(
    request: Request,
    graph: GraphDep,
    recommender: RecommenderDep,
    user_id: Annotated[str | None, IdParam] = None,
) -> HTMLResponse:
    """Type a user id: their next feed (a preview), each item with its reason."""
    feed = _feed(recommender, user_id)
    return _page(
        request,
        "dashboard/feed.html",
        status_code=feed.get("status", 200),
        active="feed",
        feed=feed,
        hints=dashboard.sample_ids(graph),
    )


@router.get("/creators")
def read_dashboard_creator(
    request: Request, graph: GraphDep, creator_id: Annotated[str | None, IdParam] = None
) -> HTMLResponse:
    """Type a creator id: account, verticals, recent videos and spillover."""
    page = _creator(graph, creator_id)
    return _page(
        request,
        "dashboard/creator.html",
        status_code=page.get("status", 200),
        active="creators",
        page=page,
        hints=dashboard.sample_ids(graph),
    )


@router.get("/communities")
def read_dashboard_communities(request: Request, graph: GraphDep) -> HTMLResponse:
    """Interest communities, largest first, with their top tags."""
    found = dashboard.communities(graph)
    svg = None
    if found:
        svg = plots.hbar(
            [f"{c['community']} {c['label'] or ''}".strip() for c in found[:15]],
            [c["size"] for c in found[:15]],
            label="members",
        )
    return _page(
        request, "dashboard/communities.html", active="communities", communities=found, svg=svg
    )


@router.get("/activity")
def read_dashboard_activity(request: Request, graph: GraphDep) -> HTMLResponse:
    """Event rate, stream lag and feed latency, refreshed every few seconds."""
    return _page(request, "dashboard/activity.html", active="activity", **_activity(request, graph))


# --- panels (htmx swaps these in) -----------------------------------------------------------
@router.get("/panels/funnel")
def read_panel_funnel(request: Request, graph: GraphDep) -> HTMLResponse:
    return _page(request, "dashboard/_funnel.html", **_funnel(graph))


@router.get("/panels/activity")
def read_panel_activity(request: Request, graph: GraphDep) -> HTMLResponse:
    return _page(request, "dashboard/_activity.html", **_activity(request, graph))


@router.get("/panels/feed")
def read_panel_feed(
    request: Request, recommender: RecommenderDep, user_id: Annotated[str | None, IdParam] = None
) -> HTMLResponse:
    feed = _feed(recommender, user_id)
    return _page(request, "dashboard/_feed.html", status_code=feed.get("status", 200), feed=feed)


@router.get("/panels/creator")
def read_panel_creator(
    request: Request, graph: GraphDep, creator_id: Annotated[str | None, IdParam] = None
) -> HTMLResponse:
    page = _creator(graph, creator_id)
    return _page(request, "dashboard/_creator.html", status_code=page.get("status", 200), page=page)
