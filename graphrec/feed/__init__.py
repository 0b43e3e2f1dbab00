"""The feed: pluggable candidate sources, scoring, diversity re-rank, explanations, scenarios.

``Recommender(graph, settings, policy=FeedPolicy()).feed(user_id, n=10, scenario=None)``
returns a :class:`Feed` whose items each say which source chose them and why (a short graph
path). Impressions are recorded as the feed is served (``pools/record_impressions``).
"""

from graphrec.feed.policy import SCENARIOS, FeedPolicy, Scenario, scenario
from graphrec.feed.recommender import Feed, FeedItem, Recommender
from graphrec.feed.sources import Candidate, CandidateSource, QuerySource, UserContext

__all__ = [
    "SCENARIOS",
    "Candidate",
    "CandidateSource",
    "Feed",
    "FeedItem",
    "FeedPolicy",
    "QuerySource",
    "Recommender",
    "Scenario",
    "UserContext",
    "scenario",
]
