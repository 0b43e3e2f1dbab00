"""The simulation's report: a self-contained HTML page (plots inlined) and a JSON of figures."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphrec.domain import SERVED_POOLS
from graphrec.sim import metrics as M

if TYPE_CHECKING:
    from graphrec.sim import SimReport

POOL_ORDER = (*SERVED_POOLS, "None")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def plots(report: SimReport) -> dict[str, str]:
    """The plots as base64 PNGs: pool funnel, Lorenz, watch time, adaptation, and (when the
    day followed the uploads' vectors) how fast they move to their audience."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    pols = list(report.policies.items())

    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / max(len(pols), 1)
    for i, (name, r) in enumerate(pols):
        vals = [r.pool_counts.get(p, 0) for p in POOL_ORDER]
        ax.bar([x + i * width for x in range(len(POOL_ORDER))], vals, width, label=name)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(POOL_ORDER))])
    ax.set_xticklabels(["cold start", "boost", "trending", "long tail", "rejected"])
    ax.set_ylabel("uploads of the day")
    ax.set_title("Pool funnel: where the day's uploads ended")
    ax.legend(fontsize=7)
    out["pool_funnel"] = _png(fig)

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="equal exposure")
    for name, r in pols:
        values = [r.creator_impressions.get(c, 0) for c in r.creator_impressions] + [0] * max(
            0, report.world.get("creators", 0) - len(r.creator_impressions)
        )
        x, y = M.lorenz(values)
        ax.plot(x, y, label=f"{name} (Gini {r.figures.get('creator_gini', 0):.2f})")
    ax.set_xlabel("share of creators (least exposed first)")
    ax.set_ylabel("share of impressions")
    ax.set_title("Exposure Lorenz curve across creators")
    ax.legend(fontsize=7)
    out["lorenz"] = _png(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, r in pols:
        xs = [h for h, v in enumerate(r.hourly_watch_s) if not math.isnan(v)]
        ax.plot(xs, [r.hourly_watch_s[h] for h in xs], marker=".", label=name)
    ax.set_xlabel("simulated hour")
    ax.set_ylabel("watch time per session (s)")
    ax.set_title("Watch time over the simulated day")
    ax.legend(fontsize=7)
    out["watch_time"] = _png(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, r in pols:
        if r.adaptation_curve:
            ax.plot(
                range(1, len(r.adaptation_curve) + 1), r.adaptation_curve, marker="o", label=name
            )
    ax.set_xlabel("feed page after the planted change of taste")
    ax.set_ylabel("share of the new favourite in the feed")
    ax.set_title("Adaptation to a change of taste")
    if any(r.adaptation_curve for _, r in pols):
        ax.legend(fontsize=7)
    else:  # a day too short (or too few users) for the planted change to be followed
        ax.text(0.5, 0.5, "no change of taste was followed this day", ha="center",
                va="center", transform=ax.transAxes)  # fmt: skip
    out["adaptation"] = _png(fig)

    followed = [(n, r) for n, r in pols if any(v is not None for v in _cos(r, "uploads"))]
    if followed:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for name, r in followed:
            for series, style in (("planted_strong", "-"), ("uploads", "--")):
                points = [(h + 1, v) for h, v in enumerate(_cos(r, series)) if v is not None]
                what = "trending newcomer" if series == "planted_strong" else "uploads (mean)"
                ax.plot(
                    [h for h, _ in points],
                    [v for _, v in points],
                    style,
                    marker=".",
                    label=f"{name}: {what}",
                )
        ax.set_xlabel("simulated hour (end of)")
        ax.set_ylabel("cosine(upload, its audience)")
        ax.set_title("How fast an upload's vector moves to where its audience is")
        ax.legend(fontsize=7)
        out["upload_vectors"] = _png(fig)
    return out


def _cos(r: Any, series: str) -> list[float | None]:
    return list(r.audience_cosine.get(series, []))


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r.values()) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _by_figure(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Records transposed: one row per figure, one column per record (named by ``key``), so a
    page of many figures for a few policies stays narrow (readable at any width)."""
    if not rows:
        return []
    return [{"figure": f, **{str(r[key]): r.get(f) for r in rows}} for f in rows[0] if f != key]


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _hours(v: Any) -> str:
    return "not within the day" if v is None else f"{v:g} h after upload"


def story(report: SimReport) -> list[dict[str, str]]:
    """The day's story, one row per policy, in words: the strong newcomer's climb, the
    malicious upload at audit, amplification, look-back, adaptation (also the CLI's table)."""
    rows = []
    for name, r in report.policies.items():
        f = r.figures
        reasons = ", ".join(f.get("planted_malicious_reasons") or []) or "-"
        pages = f.get("adaptation_pages")
        rows.append(
            {
                "policy": name,
                "strong newcomer: boost": _hours(f.get("strong_new_video_hours_to_boost")),
                "strong newcomer: trending": _hours(f.get("strong_new_video_hours_to_trending")),
                "malicious upload": (
                    f"stopped at audit ({reasons}); "
                    f"{f.get('malicious_rejected_at_audit', 0)} rejected, "
                    f"{f.get('malicious_impressions', 0)} impressions"
                    if f.get("planted_malicious_rejected")
                    else "not stopped at audit"
                ),
                "community amplifies its winner": (
                    f"{f.get('amplified_in_community', 0)} promoted videos amplified in "
                    "their best community"
                ),
                "look-back": f"{f.get('look_back_revivals', 0)} old videos revived",
                "changed taste": (
                    f"new favourite fills a quarter of the feed by page {pages}"
                    if pages
                    else "not within the pages followed"
                ),
                "upload vectors": (
                    f"end of day: cosine with their audience {_fmt(f.get('upload_audience_cosine'))} "
                    f"(uploads), {_fmt(f.get('trending_upload_audience_cosine'))} (the trending "
                    "newcomer)"
                ),
                "funnel": (
                    f"{f.get('reached_boost', 0)} uploads reached boost, "
                    f"{f.get('reached_trending', 0)} trending"
                ),
            }
        )
    return rows


def _cards(rows: list[dict[str, str]]) -> str:
    """One card per policy (a definition list), side by side when the page is wide."""
    cards = []
    for r in rows:
        items = "".join(
            f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>"
            for k, v in r.items()
            if k != "policy"
        )
        cards.append(
            f'<section class="card"><h3>{html.escape(r["policy"])}</h3><dl>{items}</dl></section>'
        )
    return f'<div class="cards">{"".join(cards)}</div>'


def write_report(report: SimReport, folder: Path) -> dict[str, Path]:
    """Write ``report.html`` (self-contained) and ``report.json`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    data = report.as_dict()
    data["story"] = story(report)
    json_path = folder / "report.json"
    json_path.write_text(json.dumps(data, indent=2, default=str))
    images = plots(report)
    for name, b64 in images.items():
        (folder / f"{name}.png").write_bytes(base64.b64decode(b64))
    imgs = "".join(
        f'<figure><img alt="{n}" src="data:image/png;base64,{b}"><figcaption>{n}</figcaption></figure>'
        for n, b in images.items()
    )
    cfg = html.escape(json.dumps(data["config"]))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>graphrec: a day on the platform</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
.wide{{overflow-x:auto}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}th{{background:#f3f3f3}}
td:first-child{{text-align:left;overflow-wrap:anywhere}}
.cards{{display:flex;flex-wrap:wrap;gap:1em}}.card{{flex:1 1 18em;border:1px solid #ccc;
border-radius:6px;padding:0 1em}}dt{{font-weight:600;margin-top:.5em}}dd{{margin:0}}
figure{{display:inline-block;margin:1em;max-width:100%}}img{{max-width:100%;width:520px}}
pre{{white-space:pre-wrap;word-break:break-all}}</style></head>
<body><h1>A day on the platform</h1>
<p>World {html.escape(str(data["world"].get("size")))} (seed {data["world"].get("seed")}),
{len(report.policies)} policies, same users and seed; wall time {data["wall_s"]} s.</p>
<h2>The story of the day</h2>{_cards(data["story"])}
<h2>Headline</h2><div class="wide">{_table(_by_figure(data["headline"], "policy"))}</div>
<h2>Communities vs the latent truth</h2>
<div class="wide">{_table([data["communities"]] if data["communities"] else [])}</div>
<h2>Plots</h2>{imgs}
<h2>Configuration</h2><pre>{cfg}</pre>
<p>Every figure is in <code>report.json</code>.</p></body></html>"""
    html_path = folder / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return {"html": html_path, "json": json_path}
