"""`obs logs search` query model: time bounds, levels and the exact Elasticsearch DSL it sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from observability.apply.logsearch import (
    LogQuery,
    QueryError,
    build_search_body,
    levels_at_or_above,
    parse_time_bound,
)

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def test_empty_query_is_a_newest_first_match_all_in_filter_context():
    assert build_search_body(LogQuery()) == {
        "query": {"bool": {"filter": []}},
        "sort": [{"@timestamp": {"order": "desc", "format": "strict_date_optional_time_nanos"}}],
        "size": 100,
        "track_total_hits": False,
    }


def test_every_filter_and_the_text():
    query = LogQuery(
        text='timeout "payment failed"',
        services=("checkout", "catalog"),
        namespaces=("shop",),
        levels=("error", "panic", "fatal"),
        since=NOW - timedelta(minutes=15),
        until=NOW,
        limit=20,
    )
    assert build_search_body(query, ascending=True) == {
        "query": {
            "bool": {
                "filter": [
                    {"terms": {"service.name": ["checkout", "catalog"]}},
                    {"terms": {"kubernetes.namespace": ["shop"]}},
                    {"terms": {"log.level": ["error", "panic", "fatal"]}},
                    {
                        "range": {
                            "@timestamp": {
                                "format": "strict_date_optional_time",
                                "gte": "2026-11-23T11:45:00.000Z",
                                "lte": "2026-11-23T12:00:00.000Z",
                            }
                        }
                    },
                ],
                "must": [
                    {
                        "simple_query_string": {
                            "query": 'timeout "payment failed"',
                            "fields": ["message", "error.message", "error.stack_trace"],
                            "default_operator": "and",
                            "lenient": True,
                        }
                    }
                ],
            }
        },
        "sort": [{"@timestamp": {"order": "asc", "format": "strict_date_optional_time_nanos"}}],
        "size": 20,
        "track_total_hits": False,
    }


def test_only_one_bound_and_times_in_other_zones_are_sent_as_utc():
    cet = datetime(2026, 11, 23, 13, 0, tzinfo=datetime.fromisoformat("2026-01-01T00:00+01:00").tzinfo)
    body = build_search_body(LogQuery(since=cet))
    assert body["query"]["bool"]["filter"] == [
        {"range": {"@timestamp": {"format": "strict_date_optional_time", "gte": "2026-11-23T12:00:00.000Z"}}}
    ]


def test_extra_filters_are_appended_and_whitespace_text_is_ignored():
    extra = {"range": {"@timestamp": {"gte": "2026-11-23T12:00:00Z"}}}
    body = build_search_body(LogQuery(text="   ", extra_filters=(extra,)))
    assert body["query"] == {"bool": {"filter": [extra]}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", NOW - timedelta(minutes=15)),
        ("30s", NOW - timedelta(seconds=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("7d", NOW - timedelta(days=7)),
        ("1w", NOW - timedelta(days=7)),
        ("now", NOW),
        ("2026-11-23T10:00:00Z", datetime(2026, 11, 23, 10, tzinfo=UTC)),
        ("2026-11-23T10:00:00", datetime(2026, 11, 23, 10, tzinfo=UTC)),
        ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
    ],
)
def test_time_bounds(text, expected):
    assert parse_time_bound(text, NOW) == expected


def test_unreadable_time_names_the_option_and_the_accepted_forms():
    with pytest.raises(QueryError) as info:
        parse_time_bound("15 minutes", NOW, "--until")
    assert "--until: cannot read '15 minutes' as a time" in str(info.value)
    assert "15m" in str(info.value)


def test_level_means_this_level_or_worse():
    assert levels_at_or_above("error") == ("error", "panic", "fatal")
    assert levels_at_or_above("WARNING") == ("warn", "error", "panic", "fatal")
    assert levels_at_or_above("fatal") == ("fatal",)
    assert levels_at_or_above("trace")[0] == "trace"
    with pytest.raises(QueryError, match="unknown level 'loud'"):
        levels_at_or_above("loud")
