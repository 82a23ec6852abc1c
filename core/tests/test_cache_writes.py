"""cache_write_on_commit: a commit's cache writes go out together after it, in one round trip to Redis."""

from copy import deepcopy

import pytest
from django.core.cache import cache
from django.db import transaction
from redis import Redis
from redis.client import Pipeline

from core.cache import cache_write_on_commit


@pytest.mark.django_db(transaction=True)
def test_the_writes_of_one_commit_are_sent_after_it_together_and_report_what_they_did():
    cache.set("taken", "old")
    seen = []
    with transaction.atomic():
        cache_write_on_commit(key="stamp-a", value="a1")
        cache_write_on_commit(key="stamp-b", value="b1", timeout=60)
        cache_write_on_commit(key="taken", value="new", only_if_absent=True, then=seen.append)
        cache_write_on_commit(key="free", value="mine", only_if_absent=True, timeout=10, then=seen.append)
        # Nothing before the commit.
        assert cache.get_many(["stamp-a", "stamp-b", "free"]) == {}

    assert cache.get_many(["stamp-a", "stamp-b", "taken", "free"]) == {
        "stamp-a": "a1",
        "stamp-b": "b1",
        "taken": "old",
        "free": "mine",
    }
    assert seen == [False, True]
    assert cache.ttl("stamp-a") is None and 0 < cache.ttl("stamp-b") <= 60 and 0 < cache.ttl("free") <= 10


@pytest.mark.django_db(transaction=True)
def test_four_writes_cost_one_round_trip(monkeypatch):
    # Spies on the real client: how many pipelines are sent, how many commands go on their own.
    sent = {"pipelines": 0, "commands": 0}
    execute, execute_command = Pipeline.execute, Redis.execute_command

    def counted_execute(self, *args, **kwargs):
        sent["pipelines"] += 1
        return execute(self, *args, **kwargs)

    def counted_command(self, *args, **kwargs):
        sent["commands"] += 1
        return execute_command(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", counted_execute)
    monkeypatch.setattr(Redis, "execute_command", counted_command)
    with transaction.atomic():
        for n in range(4):
            cache_write_on_commit(key=f"k{n}", value=n, only_if_absent=n == 3, then=lambda result: None)

    assert sent == {"pipelines": 1, "commands": 0}
    monkeypatch.undo()
    assert cache.get_many([f"k{n}" for n in range(4)]) == {f"k{n}": n for n in range(4)}


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_writes_nothing_and_outside_one_it_writes_at_once():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        cache_write_on_commit(key="rolled-back", value=1)
        1 / 0  # noqa: B018

    assert cache.get("rolled-back") is None
    # Nor with the next commit.
    with transaction.atomic():
        cache_write_on_commit(key="next", value=3)
    assert cache.get_many(["rolled-back", "next"]) == {"next": 3}
    cache_write_on_commit(key="now", value=2)
    assert cache.get("now") == 2


@pytest.mark.django_db(transaction=True)
def test_a_cache_that_cannot_be_reached_is_reported_to_then_and_fails_nothing(settings):
    # A closed port: the pipeline fails at once.
    caches = deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = "redis://127.0.0.1:1/0"
    settings.CACHES = caches
    seen = []
    with transaction.atomic():
        cache_write_on_commit(key="x", value=1, only_if_absent=True, then=seen.append)
        cache_write_on_commit(key="y", value=2, then=seen.append)
    assert seen == [None, None]
