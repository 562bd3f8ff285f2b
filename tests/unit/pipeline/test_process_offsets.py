"""Unit tests: OffsetTracker — a committed offset never passes an event that is not yet confirmed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from observability.pipeline.sink import Position
from observability.pipeline.source import OffsetTracker


def test_safe_offset_stops_at_the_first_unconfirmed_event() -> None:
    tracker = OffsetTracker()
    key = ("logs", 0)
    for offset in (10, 11, 12, 13):
        assert tracker.track(key, offset)
    assert not tracker.track(key, 12)  # a re-delivery after a resume is ignored
    tracker.confirm_all([Position("logs", 0, 12), Position("logs", 0, 10)])
    assert [(tp.partition, tp.offset) for tp in tracker.take_commits()] == [(0, 11)]
    assert tracker.in_flight == 3
    tracker.confirm(Position("logs", 0, 11))
    assert [(tp.partition, tp.offset) for tp in tracker.take_commits()] == [(0, 13)]
    assert tracker.take_commits() == []  # nothing new
    tracker.forget(key)
    tracker.confirm(Position("logs", 0, 13))  # revoked meanwhile: ignored
    assert tracker.in_flight == 0 and tracker.take_commits() == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 5)), min_size=1, max_size=40), st.randoms())
def test_commits_match_a_simple_model(batches: list[tuple[int, int]], rng) -> None:  # type: ignore[no-untyped-def]
    tracker = OffsetTracker()
    next_offset = {p: 0 for p in range(3)}
    unconfirmed: list[Position] = []
    confirmed: set[Position] = set()
    committed: dict[int, int] = {}
    for partition, count in batches:
        for _ in range(count):
            position = Position("logs", partition, next_offset[partition])
            assert tracker.track(("logs", partition), position.offset)
            next_offset[partition] += 1
            unconfirmed.append(position)
        rng.shuffle(unconfirmed)
        done, unconfirmed = unconfirmed[: len(unconfirmed) // 2], unconfirmed[len(unconfirmed) // 2 :]
        tracker.confirm_all(done)
        confirmed.update(done)
        for tp in tracker.take_commits():
            committed[tp.partition] = tp.offset
        for p in range(3):
            # The model: the committed offset is the first offset not yet confirmed.
            first_open = next((o for o in range(next_offset[p]) if Position("logs", p, o) not in confirmed),
                              next_offset[p])  # fmt: skip
            assert committed.get(p, 0) == first_open
    assert tracker.in_flight == sum(
        1 for p in range(3) for o in range(committed.get(p, 0), next_offset[p])
    )
