"""The answer cache: LRU bound, TTL with a fake clock, thread safety, prefixes, counts, factory."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.catalog import GENRES
from tunemeld.config import CacheSettings, Settings
from tunemeld.exceptions import ConfigError
from tunemeld.models import Genre
from tunemeld.services.cache import (
    Cache,
    MemoryCache,
    NullCache,
    genre_cache_prefix,
    open_cache,
    view_cache_key,
)
from tunemeld.services.monitoring import Metrics


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TestMemoryCacheBasics:
    """Get, set, delete and clear."""

    def test_value_when_set_is_returned_by_get(self) -> None:
        """Bytes in, the same bytes out."""
        cache = MemoryCache()
        cache.set("k", b"v")
        assert cache.get("k") == b"v"

    def test_missing_key_when_read_is_none(self) -> None:
        """No exception for absent keys."""
        assert MemoryCache().get("nope") is None

    def test_value_when_set_again_is_replaced(self) -> None:
        """The newest value wins and the entry count stays one."""
        cache = MemoryCache()
        cache.set("k", b"1")
        cache.set("k", b"2")
        assert cache.get("k") == b"2"
        assert len(cache) == 1

    def test_key_when_deleted_is_gone_and_deleting_again_is_fine(self) -> None:
        """delete is idempotent."""
        cache = MemoryCache()
        cache.set("k", b"v")
        cache.delete("k")
        cache.delete("k")
        assert cache.get("k") is None

    def test_cache_when_cleared_is_empty(self) -> None:
        """clear drops every entry."""
        cache = MemoryCache()
        cache.set("a", b"1")
        cache.set("b", b"2")
        cache.clear()
        assert len(cache) == 0
        assert cache.get("a") is None

    @pytest.mark.parametrize(("max_entries", "ttl"), [(0, 60), (-1, 60), (10, 0), (10, -5)])
    def test_bad_limits_when_given_are_refused(self, max_entries: int, ttl: int) -> None:
        """A cache that can hold nothing or expires at once is a configuration mistake."""
        with pytest.raises(ValueError, match="must be"):
            MemoryCache(max_entries=max_entries, ttl_seconds=ttl)

    def test_memory_cache_when_checked_satisfies_the_protocol(self) -> None:
        """Both implementations are Caches."""
        assert isinstance(MemoryCache(), Cache)
        assert isinstance(NullCache(), Cache)


class TestMemoryCacheLru:
    """At most max_entries entries; the least recently used one goes first."""

    def test_oldest_entry_when_full_is_evicted(self) -> None:
        """Three sets into two slots drop the first."""
        cache = MemoryCache(max_entries=2)
        cache.set("a", b"1")
        cache.set("b", b"2")
        cache.set("c", b"3")
        assert cache.get("a") is None
        assert cache.get("b") == b"2"
        assert cache.get("c") == b"3"
        assert cache.evictions == 1

    def test_entry_when_read_recently_survives_eviction(self) -> None:
        """A hit makes an entry the most recently used."""
        cache = MemoryCache(max_entries=2)
        cache.set("a", b"1")
        cache.set("b", b"2")
        assert cache.get("a") == b"1"
        cache.set("c", b"3")
        assert cache.get("a") == b"1"
        assert cache.get("b") is None

    @given(
        st.integers(1, 5),
        st.lists(st.tuples(st.sampled_from(["get", "set"]), st.sampled_from("abcdefg"))),
    )
    def test_any_operations_when_replayed_match_a_reference_lru(
        self, max_entries: int, operations: list[tuple[str, str]]
    ) -> None:
        """Same answers as a plain OrderedDict LRU, and never more than max_entries."""
        cache = MemoryCache(max_entries=max_entries, ttl_seconds=None)
        model: OrderedDict[str, bytes] = OrderedDict()
        for number, (op, key) in enumerate(operations):
            if op == "set":
                value = str(number).encode()
                cache.set(key, value)
                model[key] = value
                model.move_to_end(key)
                while len(model) > max_entries:
                    model.popitem(last=False)
            else:
                expected = model.get(key)
                if expected is not None:
                    model.move_to_end(key)
                assert cache.get(key) == expected
            assert len(cache) <= max_entries


class TestMemoryCacheTtl:
    """Entries expire after their TTL on the injected clock."""

    def test_entry_when_younger_than_ttl_is_served(self) -> None:
        """Just before the deadline it is still a hit."""
        clock = FakeClock()
        cache = MemoryCache(ttl_seconds=10, clock=clock)
        cache.set("k", b"v")
        clock.advance(9.999)
        assert cache.get("k") == b"v"

    def test_entry_when_ttl_has_passed_is_a_miss_and_dropped(self) -> None:
        """At the deadline it is gone, and no longer takes a slot."""
        clock = FakeClock()
        cache = MemoryCache(ttl_seconds=10, clock=clock)
        cache.set("k", b"v")
        clock.advance(10)
        assert cache.get("k") is None
        assert len(cache) == 0

    def test_ttl_when_given_per_set_overrides_the_default(self) -> None:
        """A short per-call TTL expires before the default would."""
        clock = FakeClock()
        cache = MemoryCache(ttl_seconds=100, clock=clock)
        cache.set("short", b"1", ttl_seconds=5)
        cache.set("default", b"2")
        clock.advance(50)
        assert cache.get("short") is None
        assert cache.get("default") == b"2"

    def test_entry_when_cache_has_no_default_ttl_never_expires(self) -> None:
        """ttl_seconds=None keeps entries until evicted or deleted."""
        clock = FakeClock()
        cache = MemoryCache(ttl_seconds=None, clock=clock)
        cache.set("k", b"v")
        clock.advance(10**9)
        assert cache.get("k") == b"v"

    def test_set_when_ttl_is_not_positive_stores_nothing(self) -> None:
        """ttl 0 means 'do not cache' and also drops an older value."""
        cache = MemoryCache()
        cache.set("k", b"old")
        cache.set("k", b"new", ttl_seconds=0)
        assert cache.get("k") is None

    def test_entry_when_set_again_gets_a_new_deadline(self) -> None:
        """Rewriting refreshes the TTL."""
        clock = FakeClock()
        cache = MemoryCache(ttl_seconds=10, clock=clock)
        cache.set("k", b"1")
        clock.advance(8)
        cache.set("k", b"2")
        clock.advance(8)
        assert cache.get("k") == b"2"


class TestDeletePrefix:
    """The ETL invalidates one genre's answers by prefix."""

    def test_genre_prefix_when_deleted_removes_only_that_genre(self) -> None:
        """Pop goes, rap stays; the count says how many went."""
        cache = MemoryCache()
        for name in ("graph-data", "playlist-data", "service-playlist:Spotify"):
            cache.set(view_cache_key(Genre("pop"), name), b"p")
            cache.set(view_cache_key(Genre("rap"), name), b"r")
        cache.set("other", b"o")
        assert cache.delete_prefix(genre_cache_prefix(Genre("pop"))) == 3
        assert cache.get(view_cache_key(Genre("pop"), "graph-data")) is None
        assert cache.get(view_cache_key(Genre("rap"), "graph-data")) == b"r"
        assert cache.get("other") == b"o"

    def test_prefix_when_nothing_matches_removes_nothing(self) -> None:
        """Zero, and the entries are untouched."""
        cache = MemoryCache()
        cache.set("a", b"1")
        assert cache.delete_prefix("zzz") == 0
        assert len(cache) == 1

    @pytest.mark.parametrize("genre", list(GENRES))
    def test_view_keys_when_built_start_with_their_genre_prefix_only(self, genre: Genre) -> None:
        """No genre's prefix covers another genre's keys."""
        key = view_cache_key(genre, "graph-data")
        assert key == f"view:{genre.value}:graph-data"
        for other in GENRES:
            assert key.startswith(genre_cache_prefix(other)) is (other is genre)


class TestCounts:
    """Hits and misses are counted on the object and in the metrics."""

    def test_lookups_when_made_count_hits_and_misses(self) -> None:
        """Expired entries count as misses."""
        clock = FakeClock()
        metrics = Metrics()
        cache = MemoryCache(ttl_seconds=10, clock=clock, metrics=metrics)
        cache.get("k")
        cache.set("k", b"v")
        cache.get("k")
        cache.get("k")
        clock.advance(11)
        cache.get("k")
        assert (cache.hits, cache.misses) == (2, 2)

        def sample(result: str) -> float | None:
            labels = {"cache": "memory", "result": result}
            return metrics.registry.get_sample_value("tunemeld_cache_requests_total", labels)

        assert sample("hit") == 2
        assert sample("miss") == 2

    def test_cache_when_no_metrics_given_still_counts(self) -> None:
        """Metrics are optional."""
        cache = MemoryCache()
        cache.get("k")
        assert cache.misses == 1


class TestThreadSafety:
    """Many threads hammering one cache never corrupt it."""

    def test_concurrent_operations_when_mixed_keep_the_cache_consistent(self) -> None:
        """No exceptions, the bound holds, and every get is counted exactly once."""
        cache = MemoryCache(max_entries=16, ttl_seconds=60)
        threads_count, rounds = 8, 5000
        errors: list[BaseException] = []
        start = threading.Barrier(threads_count)

        def work(worker: int) -> None:
            try:
                start.wait()
                for i in range(rounds):
                    key = f"view:{'pop' if i % 2 else 'rap'}:{(worker + i) % 40}"
                    cache.set(key, f"{worker}-{i}".encode())
                    value = cache.get(key)
                    assert value is None or value.count(b"-") == 1
                    if i % 97 == 0:
                        cache.delete_prefix("view:pop:")
                    if i % 389 == 0:
                        cache.clear()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads constantly so races show up
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            sys.setswitchinterval(interval)
        assert errors == []
        assert len(cache) <= 16
        assert cache.hits + cache.misses == threads_count * rounds


class TestNullCache:
    """The `none` backend stores nothing."""

    def test_value_when_set_is_never_returned(self) -> None:
        """Every get misses."""
        cache = NullCache()
        cache.set("k", b"v")
        assert cache.get("k") is None
        assert cache.misses == 1
        assert cache.delete_prefix("") == 0
        cache.delete("k")
        cache.clear()
        assert cache.name == "none"

    def test_lookups_when_metrics_given_are_counted_as_misses(self) -> None:
        """So dashboards show that nothing is cached."""
        metrics = Metrics()
        NullCache(metrics=metrics).get("k")
        labels = {"cache": "none", "result": "miss"}
        assert metrics.registry.get_sample_value("tunemeld_cache_requests_total", labels) == 1


class TestOpenCache:
    """open_cache builds the backend the settings name."""

    def test_memory_backend_when_configured_uses_the_settings_limits(self) -> None:
        """TTL and size come from settings.cache."""
        settings = Settings(
            _env_file=None, cache={"backend": "memory", "ttl_seconds": 7, "max_entries": 3}
        )
        cache = open_cache(settings)
        assert isinstance(cache, MemoryCache)
        assert (cache.ttl_seconds, cache.max_entries) == (7, 3)
        assert cache.name == "memory"

    def test_none_backend_when_configured_never_stores(self) -> None:
        """`none` gives the NullCache."""
        cache = open_cache(Settings(_env_file=None, cache={"backend": "none"}))
        assert isinstance(cache, NullCache)

    def test_metrics_when_given_receive_the_cache_counts(self) -> None:
        """The factory hands the metrics over."""
        metrics = Metrics()
        open_cache(Settings(_env_file=None), metrics=metrics).get("k")
        labels = {"cache": "memory", "result": "miss"}
        assert metrics.registry.get_sample_value("tunemeld_cache_requests_total", labels) == 1

    def test_unknown_backend_when_configured_raises_config_error(self) -> None:
        """A backend the settings model does not know yet (bypassing validation) is refused."""
        unknown = CacheSettings.model_construct(ttl_seconds=60, max_entries=8)
        object.__setattr__(unknown, "backend", "redis")
        settings = Settings(_env_file=None).model_copy(update={"cache": unknown})
        with pytest.raises(ConfigError) as error:
            open_cache(settings)
        assert "redis" in str(error.value)
        assert error.value.hint is not None
        assert "memory" in error.value.hint
