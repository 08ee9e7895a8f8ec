"""The server's prompt cache: which earlier prompt's state is restored, what is kept, what is dropped."""

import ctypes

import numpy as np
import pytest

from taskwarden.models.prefix_cache import PrefixStateCache, Snapshot, common_prefix


def snap(tokens, kv_bytes=1000):
    return Snapshot(input_ids=np.array(tokens, dtype=np.intc), kv=(ctypes.c_uint8 * kv_bytes)())


def test_common_prefix_counts_leading_equal_tokens():
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([9], [1]) == 0
    assert common_prefix([], [1]) == 0


def test_the_snapshot_sharing_the_longest_prefix_is_returned_not_the_latest():
    cache = PrefixStateCache(capacity_bytes=1 << 20)
    evaluator, researcher, writer = snap([1, 2, 3, 10, 11]), snap([1, 2, 3, 20, 21, 22]), snap([1, 2, 3, 30])
    for s in (evaluator, researcher, writer):
        cache[list(s.tokens) + [99]] = s  # the key may end with the sampled, never-decoded token
    assert cache[[1, 2, 3, 20, 21, 50]] is researcher
    assert cache[[1, 2, 3, 10, 77]] is evaluator
    assert [1, 2, 3, 30, 31] in cache


def test_nothing_in_common_is_a_miss():
    cache = PrefixStateCache(capacity_bytes=1 << 20)
    with pytest.raises(KeyError):
        cache[[1, 2]]
    cache[[5, 6]] = snap([5, 6])
    with pytest.raises(KeyError):
        cache[[1, 2]]
    assert [1, 2] not in cache


def test_an_empty_cache_is_still_used():
    """llama-cpp-python skips both the lookup and the save when ``if self.cache:`` is false."""
    assert bool(PrefixStateCache(capacity_bytes=1 << 20))


def test_a_conversation_growing_call_by_call_keeps_one_entry():
    cache = PrefixStateCache(capacity_bytes=1 << 20)
    cache[[1, 2, 3]] = snap([1, 2, 3])
    cache[[1, 2, 3, 4, 5]] = snap([1, 2, 3, 4, 5])
    assert list(cache.entries) == [(1, 2, 3, 4, 5)]
    cache[[1, 2]] = snap([1, 2])  # a shorter state is served by the longer one
    assert list(cache.entries) == [(1, 2, 3, 4, 5)]
    cache[[1, 2, 9]] = snap([1, 2, 9])  # a branch is its own entry
    assert set(cache.entries) == {(1, 2, 3, 4, 5), (1, 2, 9)}


def test_the_least_recently_used_goes_first_and_every_byte_is_counted():
    one = snap([1, 1], kv_bytes=400)
    cache = PrefixStateCache(capacity_bytes=2 * one.nbytes + 10)
    assert one.nbytes == 400 + 2 * np.dtype(np.intc).itemsize
    cache[[1, 1]] = one
    cache[[2, 2]] = snap([2, 2], kv_bytes=400)
    cache[[1, 1, 5]]  # a lookup makes [1, 1] recently used
    cache[[3, 3]] = snap([3, 3], kv_bytes=400)
    assert set(cache.entries) == {(1, 1), (3, 3)}
    assert cache.cache_size == 2 * one.nbytes <= cache.capacity_bytes


def test_a_state_larger_than_the_whole_cache_is_not_kept_and_evicts_nothing():
    cache = PrefixStateCache(capacity_bytes=1000)
    cache[[1]] = snap([1], kv_bytes=100)
    cache[[2]] = snap([2], kv_bytes=5000)
    assert list(cache.entries) == [(1,)]


def test_states_the_cache_did_not_make_are_ignored():
    """``save_state`` of a model with ``logits_all=True`` returns llama-cpp-python's own state: not kept."""
    cache = PrefixStateCache(capacity_bytes=1 << 20)
    cache[[1, 2]] = object()
    assert not cache.entries
