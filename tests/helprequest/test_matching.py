"""The subscriber index: every subscriber whose filter matches is found, and only those,
without scanning subscribers that share no district, skill or grid cell with the event."""

import random

from core.geo import Circle
from subscriptions.matching import MatchEvent, MatchFilter, SubscriberIndex, circle_cells

DISTRICTS = ["朝阳区", "海淀区", "东城区", "西城区"]
SKILLS = ["急救", "法律", "驾驶", "心理疏导", "翻译"]


def random_filter(rng: random.Random) -> MatchFilter:
    return MatchFilter(
        district=rng.choice([None, *DISTRICTS]),
        skills=frozenset(rng.sample(SKILLS, rng.randrange(3))),
        circle=Circle(39.9 + rng.uniform(-0.2, 0.2), 116.4 + rng.uniform(-0.2, 0.2),
                      rng.choice([0.5, 1.5, 5, 60])) if rng.random() < 0.5 else None,
    )


def random_event(rng: random.Random) -> MatchEvent:
    located = rng.random() < 0.8
    return MatchEvent(
        district=rng.choice(DISTRICTS),
        skills=frozenset(rng.sample(SKILLS, rng.randrange(3))),
        latitude=39.9 + rng.uniform(-0.2, 0.2) if located else None,
        longitude=116.4 + rng.uniform(-0.2, 0.2) if located else None,
    )


def test_index_finds_exactly_the_matching_subscribers():
    # given
    rng = random.Random(1)
    index = SubscriberIndex()
    filters = {}
    for number in range(2000):
        filters[number] = random_filter(rng)
        index.add(number, filters[number])
    for number in range(0, 2000, 7):  # some leave again
        index.remove(number)
        del filters[number]
    # when / then: the index agrees with testing every subscriber
    for _ in range(300):
        event = random_event(rng)
        expected = {n for n, f in filters.items() if f.matches(event)}
        assert set(index.match(event)) == expected


def test_event_touches_only_candidates_that_could_match():
    # given: 1,000 subscribers of another district, 1 of ours
    index = SubscriberIndex()
    for number in range(1000):
        index.add(number, MatchFilter(district="海淀区"))
    index.add("mine", MatchFilter(district="朝阳区", skills=frozenset({"急救"})))
    # when
    candidates = index.candidates(MatchEvent("朝阳区", frozenset({"法律"})))
    # then
    assert candidates == {"mine"}
    assert index.match(MatchEvent("朝阳区", frozenset({"急救", "法律"}))) == ["mine"]


def test_small_circles_use_fine_cells_and_huge_ones_stay_bounded():
    fifteen_minutes = circle_cells(Circle(39.9, 116.4, 1.5))
    assert fifteen_minutes[0][0] == 0.01 and len(fifteen_minutes) <= 64
    whole_region = circle_cells(Circle(39.9, 116.4, 100))
    assert len(whole_region) <= 64


def test_removed_subscribers_leave_no_empty_buckets():
    index = SubscriberIndex()
    index.add("a", MatchFilter(circle=Circle(39.9, 116.4, 1.5)))
    index.remove("a")
    assert len(index) == 0 and not index._buckets
