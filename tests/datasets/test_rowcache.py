"""The row cache: append-only, checked before use, compacted when mostly dead."""

from collections import Counter

from gastown_assets.datasets.rowcache import RowCache, SessionRows


def rows(i: int, n: int = 2) -> SessionRows:
    return SessionRows(
        f"s{i}",
        [b'{"row":%d,"part":%d}\n' % (i, j) for j in range(n)],
        [10 * i + j for j in range(n)],
        [bytes([i, j]) * 8 for j in range(n)],
        Counter({"too_short": i}),
        Counter(),
    )


def test_entries_survive_a_reopen_and_only_new_ones_are_appended(tmp_path):
    path = tmp_path / "rows.cache"
    with RowCache(path) as cache:
        for i in range(5):
            assert cache.get(f"k{i}") is None
            cache.put(f"k{i}", rows(i))
    size = path.stat().st_size
    with RowCache(path) as cache:
        for i in range(5):
            assert cache.get(f"k{i}") == rows(i)
        cache.put("k5", rows(5, n=0))  # a session without rows
    assert path.stat().st_size > size
    with RowCache(path) as cache:
        assert cache.get("k5") == rows(5, n=0) and cache.hits == 1


def test_a_mostly_unused_cache_is_compacted_to_what_the_build_used(tmp_path):
    path = tmp_path / "rows.cache"
    with RowCache(path) as cache:
        for i in range(10):
            cache.put(f"k{i}", rows(i))
    with RowCache(path) as cache:
        assert cache.get("k3") == rows(3) and cache.get("k7") == rows(7)
    with RowCache(path) as cache:
        assert set(cache.index) == {"k3", "k7"} and cache.get("k7") == rows(7)


def test_a_cut_short_tail_is_a_miss_and_is_compacted_away(tmp_path):
    path = tmp_path / "rows.cache"
    with RowCache(path) as cache:
        for i in range(4):
            cache.put(f"k{i}", rows(i))
    path.write_bytes(path.read_bytes()[:-7])  # the last entry lost its end (caches are not fsynced)
    with RowCache(path) as cache:
        assert "k3" not in cache.index
        assert [cache.get(f"k{i}") == rows(i) for i in range(3)] == [True] * 3
        assert cache.get("k3") is None
        cache.put("k3", rows(3))
    with RowCache(path) as cache:
        assert all(cache.get(f"k{i}") == rows(i) for i in range(4))


def test_a_damaged_entry_is_a_miss_not_a_wrong_answer(tmp_path):
    path = tmp_path / "rows.cache"
    with RowCache(path) as cache:
        for i in range(3):
            cache.put(f"k{i}", rows(i))
    data = path.read_bytes()
    path.write_bytes(data.replace(b'{"row":1,"part":1}\n', b'{"row":1,"part":1}X'))  # a row lost its newline
    with RowCache(path) as cache:
        assert cache.get("k1") is None and cache.get("k0") == rows(0) and cache.get("k2") == rows(2)
    old_format = b'{"k":"k0","session_id":"s0","tokens":[1],"sig":["00"],"dropped":{},"redacted":{}}\n{"row":0}\n'
    path.write_bytes(old_format)
    with RowCache(path) as cache:
        assert cache.get("k0") is None
