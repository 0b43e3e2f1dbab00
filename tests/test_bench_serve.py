"""``graphrec bench serve``'s capacity figures: CPU per answered request by process."""

from __future__ import annotations

from graphrec.bench.serve import cpu_per_request, headline


def level(clients: int, rps: float, **cores: float) -> dict:
    return {"clients": clients, "req_per_s": rps, "p50_ms": 1.0, "p99_ms": 2.0,
            "cpu": {f"{k}_cores": v for k, v in cores.items()}}  # fmt: skip


def test_cpu_per_request_is_each_process_cores_over_the_request_rate() -> None:
    lv = level(100, 500.0, api=1.0, neo4j=0.5, redis=0.25, loadgen=0.5, machine=2.0, others=0.1)
    got = cpu_per_request(lv)
    # 1 core busy over 500 requests a second: 2,000 us of that process's CPU per request; the
    # load generator is shown but is not the service's cost.
    assert got == {"api": 2000.0, "neo4j": 1000.0, "redis": 500.0, "loadgen": 1000.0,
                   "total": 3500.0}  # fmt: skip
    assert cpu_per_request({"clients": 1, "req_per_s": 0.0, "cpu": {"api_cores": 1.0}}) is None
    assert cpu_per_request({"clients": 1, "req_per_s": 10.0}) is None


def test_the_headline_reports_feed_and_baseline_cpu_per_request() -> None:
    feeds = [level(1, 100.0, api=0.1), level(100, 400.0, api=0.8, neo4j=0.4)]
    ping = level(100, 4000.0, api=1.6)
    h = headline(feeds, ping)
    assert h["feed_cpu_us_per_request"] == {"api": 2000.0, "neo4j": 1000.0, "total": 3000.0}
    assert h["baseline_cpu_us_per_request"] == {"api": 400.0, "total": 400.0}
    assert h["feed_to_baseline"] == 0.1


def test_hitcpu_reports_the_median_of_its_rounds() -> None:
    from graphrec.bench.hitcpu import _median

    rounds = [{"us": 400.0}, {"us": 300.0}, {"us": None}, {"us": 350.04}]
    assert _median(rounds, "us") == 350.0  # a window with no answer is left out
    assert _median([{"us": None}], "us") is None
