"""One place for everything configurable: environment variables with the ``GRAPHREC_`` prefix.

The Neo4j connection also honours the conventional ``NEO4J_URI`` / ``NEO4J_USER`` /
``NEO4J_PASSWORD`` variables, so any Neo4j tooling's environment works unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from graphrec.domain import BOOST_BUDGET, COLD_START_BUDGET
from graphrec.errors import ConfigError

PLACEHOLDER_PASSWORD = "graphrec-dev-password"
PLACEHOLDER_API_KEY = "graphrec-dev-api-key"


def _default_home() -> Path:
    return Path.home() / ".graphrec"


class Settings(BaseSettings):
    """graphrec's settings; every field reads ``GRAPHREC_<NAME>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="GRAPHREC_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"

    # --- Neo4j connection -------------------------------------------------------------
    neo4j_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("NEO4J_URI", "GRAPHREC_NEO4J_URI")
    )
    neo4j_user: str = Field(
        default="neo4j", validation_alias=AliasChoices("NEO4J_USER", "GRAPHREC_NEO4J_USER")
    )
    neo4j_password: SecretStr = Field(
        default=SecretStr(PLACEHOLDER_PASSWORD),
        validation_alias=AliasChoices("NEO4J_PASSWORD", "GRAPHREC_NEO4J_PASSWORD"),
    )
    neo4j_database: str = "neo4j"
    neo4j_max_pool_size: int = 100
    neo4j_connection_timeout_s: float = 5.0
    # How a server is found when neo4j_uri is unset: docker (testcontainers) then local.
    neo4j_backend: Literal["auto", "docker", "local"] = "auto"
    neo4j_image: str = "neo4j:5.26"

    # --- the locally launched server ----------------------------------------------------
    home: Path = Field(default_factory=_default_home)
    local_host: str = "127.0.0.1"
    local_bolt_port: int = 7687
    local_heap: str = "1g"
    local_pagecache: str = "512m"
    local_tx_memory: str = "768m"
    local_start_timeout_s: float = 120.0
    # The local server's CPU priority (nice, and its session's scheduler group where the
    # kernel groups sessions; 0: none). Feeds and events never wait on Neo4j (the graph
    # writer applies the stream behind them), so on a shared machine the request path wins
    # the cores and the graph catches up when they are free: `bench serve`'s 100-client
    # feeds/s 1,388 -> 1,942 at 10 (docs/serving.md, round nineteen); 19 since round
    # twenty-four: `bench events` 17,624 -> 18,833 events/s (medians of two alternated pairs),
    # `bench serve` unchanged, the graph drained about 5 s later.
    local_nice: int = Field(default=19, ge=0, le=19)
    java: str = "java"
    mvn: str = "mvn"

    # --- Redis: the serving spine's stream and online state (graphrec/services/redis.py) ---
    # How Redis is found: GRAPHREC_REDIS_URL, else a redis:7 container (Docker), else a local
    # redis-server graphrec starts on redis_port with its state in <home>/redis.
    redis_url: str | None = None
    redis_backend: Literal["auto", "docker", "local"] = "auto"
    redis_image: str = "redis:7"
    redis_server: str | None = None  # path of a redis-server binary (else PATH, else Debian's)
    redis_port: int = 6390
    redis_appendfsync: Literal["always", "everysec", "no"] = "everysec"
    redis_maxmemory: str = "0"  # 0: no limit (the online state must never be evicted)
    redis_timeout_s: float = 1.0  # connect/read timeout: a dead Redis answers 503 within 2 s
    redis_max_connections: int = 64
    # GRAPHREC_REDIS_URL names a node of a Redis Cluster: a cluster client (docs/scale-out.md).
    # The budgets and each user's partition are then on different slots: a ranked feed
    # grants and records in two scripts instead of one, a queued feed in three.
    redis_cluster: bool = False
    # Event stream: partitions (each a hash slot: the user's state lives beside its stream),
    # dedup retention, the graph writer's batch, trimming bound.
    stream_partitions: int = 8
    stream_dedup_ttl_s: int = 7 * 86_400  # an event_id is refused again for this long in Redis
    stream_read_count: int = 5_000
    # ...read this many a partition at a time (XREADGROUP over every partition): one read of
    # 5,000 a partition held Redis for up to 395 ms, feeds and events waiting behind it.
    stream_read_slice: int = Field(default=100, ge=1)
    stream_block_ms: int = 200
    stream_claim_idle_ms: int = 30_000  # entries pending this long on a dead consumer move on
    stream_maxlen: int = 5_000_000  # per partition, approximate; only acked entries are trimmed
    stream_writer: bool = True  # run a graph-writer consumer thread in each API worker
    # The graph writer's thread applies at most once per this interval: entries gather
    # meanwhile into one larger transaction (a write transaction costs Neo4j ~2 ms of CPU
    # whatever it holds: docs/serving.md). The graph lags the stream by up to this much more.
    stream_writer_interval_ms: int = 500
    state_lists_ttl_s: float = 30.0  # at most this long a worker keeps a parsed list (it drops it
    # at once when the sync bumps the lists' version)
    state_refresh_s: float = 60.0  # shared candidate lists recomputed from Neo4j this often
    seen_bloom_bits: int = 1 << 15  # per user seen filter (Bloom, k=4): 4 KiB, ~1% at 3,400
    nearline_limit: int = 120  # per-user nearline candidates kept (embedding neighbours)
    # The per-user feed queue (graphrec/spine/queue.py): a feed computed the normal way keeps
    # the next pages of its ranked, re-ranked list; later feeds pop from it (one script)
    # until an event of the user, a training or pool cycle, or the TTL invalidates it.
    feed_queue: bool = True
    # Entries kept per user: 12 pages of 10 per ranking. At 60 (6 pages) `bench serve`'s 100
    # clients outran the niced filler (entries passed over when budgets ran out): 9% of feeds
    # missed ("short") and ranked in the request, the API's CPU per feed 3x a hit's and p99 1.3 s;
    # at 120 none did then (docs/serving.md, "The feed queue"); with faster feeds since,
    # 0.7-2 % of that level's feeds miss again (round twenty). About 400 bytes an entry.
    feed_queue_depth: int = Field(default=120, ge=0, le=500)
    feed_queue_ttl_s: int = Field(default=600, ge=1)  # staleness bound vs the shared lists
    feed_queue_low: int = Field(default=40, ge=0)  # fewer left: the filler tops it up
    # The nearline filler: users whose queue was invalidated or ran low are recomputed in
    # the background, at most this many per second per filler (0: no filler runs). In the
    # API's scheduler group its thread's nice value (below) already puts it behind requests
    # when both want the CPU, so the cap mostly bounds what it takes of idle cores (and, in a
    # group of its own, about 0.5 cores at 2.5 ms a refill). At 50 a second `bench serve`
    # left 5,000-10,000 users due after each level and 5.9-6.5 % of the 100-client level's
    # feeds missed; at 200 the filler catches up while the graph drains between levels:
    # 2.4-3.4 % missed, p99 196-320 against 568-710 ms (docs/serving.md, round twenty-one).
    queue_fill_per_s: float = Field(default=200.0, ge=0)
    # The same cap for a filler thread inside an API worker (`queue_filler`): there it shares
    # the worker's GIL with the requests, which its nice value does not reach (a niced thread
    # preempted while it holds the GIL stalls the event loop), so it keeps the old pace.
    queue_fill_per_s_in_worker: float = Field(default=50.0, ge=0)
    # The debounce: an event makes its user due for a refill this long after it (a burst of
    # the user's events within it costs one ranking; the next feed meanwhile ranks anyway).
    queue_fill_delay_ms: int = Field(default=300, ge=0)
    # The filler's nice increment (its thread only; 0: none): nearline work, so feeds and
    # events win the CPU when both want it.
    queue_filler_nice: int = Field(default=10, ge=0, le=19)
    queue_filler: bool = False  # run a filler thread in each API worker (else standalone:
    # ``graphrec stream filler``)
    # On: a queue miss ranks on the worker's event loop instead of in a thread. In a thread
    # under load it waits for the GIL at every step (`bench serve`, 100 clients: a miss
    # took 199 ms at the median, a hit 54); on the loop it took 78 ms, but its Redis round
    # trips, waiting behind the other workers' pops, block every request of the worker:
    # hits' p95 went 105 -> 135 ms. Only when nearly every feed misses is the loop better
    # (277 against 223 feeds/s). Off by default (docs/serving.md, round twenty).
    feed_miss_inline: bool = False

    # --- world generation and loading ---------------------------------------------------
    load_batch_size: int = 10_000

    # --- learning -------------------------------------------------------------------------
    embedding_dim: int = 64
    # Rank of the graph filter whose low-rank part the feed's "spectral" source serves as
    # vectors (2 * rank + 1 stored per video; the video_spectral index is created with it).
    spectral_rank: int = Field(default=64, ge=1, le=1024)
    # Positives for training: weight of each interaction kind (relationship type) towards a
    # (user, video) pair; kinds not listed (SAW, SKIPPED) count 0, pairs weighing 0 are dropped.
    learn_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "VIEWED": 1.0,
            "COMPLETED": 2.0,
            "LIKED": 3.0,
            "COMMENTED": 3.0,
            "SHARED": 4.0,
        }
    )
    learn_export_batch: int = 2_000
    learn_holdout: float = 0.2
    learn_epochs: int = 60
    learn_batch_size: int = 4_096
    learn_lr: float = 0.01
    learn_negatives: int = 256
    learn_eval_every: int = 5
    learn_patience: int = 3
    learn_layers: int = 3
    learn_objective: Literal["bpr", "softmax"] = "softmax"
    learn_seed: int = 0
    learn_checkpoint: Path = Path("out/model/lightgcn.pt")
    # The learned feed ranker (graphrec/learn/ranker.py): written by training when it beats
    # the hand weights on validation, read by both feed paths; absent: the hand weights.
    # None: ``ranker.npz`` beside the checkpoint (Settings.ranker_path).
    learn_ranker: Path | None = None
    communities_neighbours: int = 10
    communities_resolution: float = 1.0
    communities_seed: int = 0

    # --- analysts' queries (graphrec cypher, graphrec/analyst.py) --------------------------
    analyst_timeout_s: float = 30.0  # each analyst query runs in a read transaction this long

    # --- serving (api/, graphrec/feed, graphrec/events) ----------------------------------
    # Write and admin routes need the header X-API-Key: <api_key>; reads too when
    # api_read_requires_key. The built-in key is refused in production.
    api_key: SecretStr = SecretStr(PLACEHOLDER_API_KEY)
    api_read_requires_key: bool = False
    api_workers: int = 2
    # Threads per worker for the plain-def routes (a feed's Python work holds the GIL; Redis
    # round trips are short): fewer threads than anyio's 40 switch less under load.
    api_threads: int = Field(default=8, ge=1, le=200)
    # Freeze the worker's heap once it has started (gc.freeze): the objects it built (modules,
    # routes, models, clients) leave the cycle collector's generations, so a full collection
    # walks only what came after. Without it each worker paused 130 ms (median; 230 at most)
    # about every 2 s under `bench serve`'s 100 clients: the p99 (docs/serving.md, round 19).
    api_gc_freeze: bool = True
    feed_default_n: int = 10
    feed_max_n: int = 50
    feed_cold_start_share: float = 0.2
    feed_exploration_share: float = 0.1
    feed_max_per_creator: int = 2
    feed_max_tag_share: float = 0.4
    events_max_batch: int = 10_000
    # An event's ``at`` may run this far ahead of the server's clock (client clock skew);
    # beyond, the event is refused (last-active time only moves forward).
    events_max_future_ms: int = Field(default=300_000, ge=0)
    # Request bodies larger than this are answered 413 before they are read or parsed.
    api_max_body_bytes: int = Field(default=8 << 20, ge=1024)
    # The API's Neo4j driver gives up connecting after this (and retrying after twice this),
    # so a dead Neo4j answers 503 within about 2 s instead of hanging requests.
    api_neo4j_timeout_s: float = Field(default=1.0, gt=0)
    # A production API key needs this many characters (and 10 distinct ones).
    api_key_min_length: int = Field(default=32, ge=16)
    feed_shared_ttl_s: float = 5.0  # how long a worker keeps the shared candidate lists
    online_embedding_rate: float = 0.2
    # The online trainer refits the feed ranker on the served impressions of the last
    # online_ranker_window_s every online_ranker_every_s (0: never; graphrec/learn/ranker.py
    # LogRankerRefresh).
    online_ranker_every_s: float = Field(default=600.0, ge=0)
    online_ranker_window_s: float = Field(default=86_400.0, gt=0)

    # --- content lifecycle: upload, audit, traffic pools (graphrec/lifecycle) -----------
    audit_rules_path: Path | None = None  # None: graphrec/lifecycle/audit_rules.toml
    upload_max_hashtags: int = 100  # more is an input error (stores nothing); the audit
    # rejects stuffing (audit_rules.toml max_hashtags, 30) below this
    rejection_penalty: float = 0.05  # account score lost per rejected upload
    # Fixes every pool budget's draw to (seed, video id): reproducible simulations and tests.
    pool_budget_seed: int | None = None
    cold_start_budget_min: int = COLD_START_BUDGET[0]  # defaults: graphrec.domain
    cold_start_budget_max: int = COLD_START_BUDGET[1]
    boost_budget_min: int = BOOST_BUDGET[0]
    boost_budget_max: int = BOOST_BUDGET[1]
    promote_share: float = 0.10  # top share of a cohort moving up (floor, see docs/lifecycle.md)
    cohort_window_ms: int = 86_400_000  # cohort = same pool + same entry day
    # A cohort of fewer decided videos waits for more (up to the pool's max age); one of at
    # least this many promotes at least its best video (docs/lifecycle.md).
    promote_min_cohort: int = 3
    # A video scoring at least this moves up even from a cohort too small to be decided (a
    # lone strong video in a small world does not wait for cohort-mates).
    promote_min_score: float = 1.5  # look-back's bar for a creator drawing traffic
    cold_start_max_age_ms: int = 3 * 86_400_000  # unspent budget after this: evaluated anyway
    boost_max_age_ms: int = 14 * 86_400_000
    trending_max_age_ms: int = 7 * 86_400_000  # then settled in the long tail
    score_weight_view: float = 1.0
    score_weight_completion: float = 2.0
    score_weight_like: float = 4.0
    score_weight_comment: float = 6.0
    score_weight_share: float = 8.0
    score_weight_follow: float = 10.0
    score_weight_account: float = 0.5
    score_prior_impressions: float = 10.0  # rates = count / (impressions + prior)
    amplify_communities: int = 2  # communities (or tags) a promoted video is boosted in
    lookback_min_age_ms: int = 7 * 86_400_000
    lookback_min_impressions: int = 20  # enough exposure to trust the rates
    lookback_max_impressions: int = 400  # "little exposure"
    lookback_min_score: float = 2.0
    lookback_creator_window_ms: int = 7 * 86_400_000  # creator promoted lately: drawing traffic
    lookback_creator_min_score: float = 1.5
    lookback_max_per_period: int = 200  # revivals per look-back period (a re-run adds none)
    lookback_period_ms: int = 86_400_000
    vertical_min_videos: int = 5
    vertical_min_share: float = 0.6
    virality_min_impressions: int = 1_000
    virality_min_score: float = 3.0
    spillover_boost: float = 1.0
    cycle_batch_size: int = 2_000
    cycle_stale_ms: int = 15 * 60_000  # a cycle unfinished this long no longer blocks

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if (
            self.environment == "production"
            and self.neo4j_password.get_secret_value() == PLACEHOLDER_PASSWORD
        ):
            raise ValueError(
                "GRAPHREC_NEO4J_PASSWORD (or NEO4J_PASSWORD) must be set in production; "
                "the built-in development password is refused"
            )
        return self

    def for_api(self) -> Settings:
        """These settings with the API's short Neo4j timeouts (fail fast, answer 503)."""
        return self.model_copy(update={"neo4j_connection_timeout_s": self.api_neo4j_timeout_s})

    def check_serving(self) -> None:
        """Refuse to serve in production with the development key or a weak key."""
        if self.environment != "production":
            return
        key = self.api_key.get_secret_value()
        if key == PLACEHOLDER_API_KEY:
            raise ConfigError(
                "GRAPHREC_API_KEY must be set in production; the development key is refused"
            )
        if len(key) < self.api_key_min_length or len(set(key)) < 10:
            raise ConfigError(
                f"GRAPHREC_API_KEY is too weak for production: at least "
                f"{self.api_key_min_length} characters and 10 distinct ones (e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )

    @property
    def local_dir(self) -> Path:
        """State of the locally launched server: jars, data, logs, pid."""
        return self.home / "neo4j"

    def ranker_path(self, checkpoint: Path | None = None) -> Path:
        """Where the learned feed ranker is (``learn_ranker``, else beside the checkpoint)."""
        return self.learn_ranker or (checkpoint or self.learn_checkpoint).with_name("ranker.npz")


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()


def parse_size(text: str) -> int:
    """Bytes in a memory size such as ``512m``, ``1g`` or ``1048576``."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower()
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)
