import gc
import random
import sys
import time
import types

import numpy as np
import orjson

from gastown_assets.datasets.dedup import Deduper, row_text

_RNG = random.Random(7)
VOCAB = np.array(
    ["".join(_RNG.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(_RNG.randint(2, 10))) for _ in range(5000)]
)


def words(n: int, seed: int) -> list[str]:
    return VOCAB[np.random.default_rng(seed).integers(0, VOCAB.size, n)].tolist()


def row(text: str, system: str = "You are a polecat.", call_id: str = "toolu_01") -> list[dict]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": "Work on your hook."},
        {
            "role": "assistant",
            "content": text,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "Bash", "arguments": orjson.dumps({"command": "gt hook"}).decode()},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "🪝 Hooked: it-id26"},
    ]


def test_identical_rows_are_exact_duplicates():
    d = Deduper()
    text = " ".join(words(200, 1))
    assert d.check("s1:0", row_text(row(text))) is None
    # another session: other tool-call ids and whitespace, same row
    assert d.check("s2:0", row_text(row(text.replace(" ", "\n  "), call_id="toolu_99"))) == "exact"
    assert d.duplicate_of == "s1:0"


def test_a_few_words_changed_in_a_long_text_is_near():
    d = Deduper()
    original = words(1000, 2)
    edited = list(original)
    for i in (100, 500, 900):
        edited[i] = "changed"
    assert d.check("a", row_text(row(" ".join(original)))) is None
    assert d.check("b", row_text(row(" ".join(edited)))) == "near"
    assert d.duplicate_of == "a"


def test_clearly_different_rows_are_new():
    d = Deduper()
    for i in range(20):
        assert d.check(f"r{i}", row_text(row(" ".join(words(300, 100 + i))))) is None
    assert len(d) == 20


def test_system_prompt_does_not_matter():
    text = " ".join(words(100, 3))
    a, b = row(text, system="You are the mayor."), row(text, system="You are a polecat. " * 50)
    assert row_text(a) == row_text(b)
    assert "mayor" not in row_text(a)
    d = Deduper()
    assert d.check("a", row_text(a)) is None
    assert d.check("b", row_text(b)) == "exact"


def test_row_text_keeps_contents_and_tool_calls():
    text = row_text(row("Checking   my\nhook."))
    assert text == 'Work on your hook. Checking my hook. Bash {"command":"gt hook"} 🪝 Hooked: it-id26'


def _corpus(n: int) -> tuple[list[str], list[str | None]]:
    """n rows of ~160 words; every 10th an exact copy and every 10th+5 a near copy of an earlier row."""
    texts: list[str] = []
    expected: list[str | None] = []
    for i in range(n):
        if i % 10 == 0 and i:
            texts.append(texts[i - 7])
            expected.append("exact")
        elif i % 10 == 5:
            w = texts[i - 3].split()
            w[-1] = "edited"  # the last word of ~160: Jaccard ~0.99
            texts.append(" ".join(w))
            expected.append("near")
        else:
            texts.append(row_text(row(" ".join(words(150, 1000 + i)))))
            expected.append(None)
    return texts, expected


def test_decisions_are_deterministic_and_keep_the_first_occurrence():
    texts, _ = _corpus(300)
    first = Deduper()
    second = Deduper()
    a = [first.check(str(i), t) for i, t in enumerate(texts)]
    b = [second.check(str(i), t) for i, t in enumerate(texts)]
    assert a == b
    # reversed order: the later copy is now the one kept
    rev = Deduper()
    decisions = {i: rev.check(str(i), texts[i]) for i in reversed(range(len(texts)))}
    assert decisions[10] is None and decisions[3] == "exact"


def _reachable(root) -> list:
    """Every object reachable from `root`, short of modules, classes and functions."""
    seen, stack, out = set(), [root], []
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        out.append(obj)
        stack.extend(gc.get_referents(obj))
    return out


def test_5000_rows_with_bounded_state_holding_no_text():
    texts, expected = _corpus(5000)
    d = Deduper()
    start = time.perf_counter()
    got = [d.check(f"session-{i}:0", t) for i, t in enumerate(texts)]
    elapsed = time.perf_counter() - start
    assert got == expected
    assert d.counts == {"new": 4001, "exact": 499, "near": 500}
    assert len(d) == 4001
    assert elapsed < 5  # ~0.1 ms a row on a laptop

    state = _reachable(d)
    longest = max(len(o) for o in state if isinstance(o, str))
    assert longest < 40  # keys only: no row text (each ~1,100 chars) nor a piece of one
    assert not any(isinstance(o, str) and "Work on your hook" in o for o in state)
    size = sum(sys.getsizeof(o) for o in state if not isinstance(o, np.ndarray) or o.base is None)
    assert size / len(d) < 3000  # bytes per kept row: digests, signatures and LSH buckets


def test_shingle_hashes_do_not_depend_on_position():
    from gastown_assets.datasets.dedup import ShingleHasher

    shingle_hashes = ShingleHasher(5)
    text = " ".join(words(50, 4))
    shifted = shingle_hashes("préambule inséré " + text)
    assert set(shingle_hashes(text).tolist()) <= set(shifted.tolist())
    assert shifted.size == 46 + 2
    assert shingle_hashes("too few words").size == 1 and shingle_hashes("").size == 0


def test_permutations_and_bands_are_datasketchs():
    """Drawn and solved here (importing datasketch costs a second of scipy), checked against it."""
    import pytest
    from datasketch import MinHash
    from datasketch.lsh import _optimal_param

    from gastown_assets.datasets.dedup import LSH_WEIGHTS, affine32_permutations, lsh_bands

    for num_perm, seed in ((64, 1), (128, 7), (16, 3)):
        a, b = MinHash(num_perm=num_perm, seed=seed).permutations
        mine = affine32_permutations(num_perm, seed)
        assert mine[0].dtype == a.dtype and (mine[0] == a).all() and (mine[1] == b).all()
    for threshold in (0.5, 0.7, 0.8, 0.85, 0.9, 0.95):
        for weights in (LSH_WEIGHTS, (0.5, 0.5)):
            assert lsh_bands(threshold, 64, weights) == _optimal_param(threshold, 64, *weights)
    with pytest.raises(ValueError):
        Deduper(threshold=1.0, num_perm=4)
