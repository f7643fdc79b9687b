"""Exact and near-duplicate rows within one role, streaming, in bounded memory (pure Python).

`Deduper.check` is called once per row in corpus order; the first occurrence of a text is kept
and later copies are reported as "exact" (same normalised text) or "near" (MinHash estimate of
the Jaccard similarity of their word shingles >= threshold, found through LSH bands laid out
as datasketch's MinHashLSH lays them out). Only digests, signatures and the LSH index are kept, never the texts.

Speed: the shingles are hashed with numpy in one pass over the row's bytes (a polynomial prefix
hash gives every shingle's hash as a difference of two prefixes), then permuted with
datasketch's own "affine32" permutations (h -> a*h + b mod 2^32, the same `a`, `b` a
`MinHash(num_perm, seed)` draws) -- no per-shingle Python call. The permutations and the band
layout are drawn and solved here the way datasketch does it (tests check both against it):
importing datasketch imports scipy, over a second of every run's start.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from functools import lru_cache

import numpy as np
import orjson

from .quality import content_text

# LSH band weights (false positive, false negative): favour recall, as every candidate is verified
# against its stored signature (64 perms at 0.85 -> 7 bands of 9: ~84 % of pairs at J=0.85 and
# ~97 % at J=0.9 become candidates, against ~31 % / 60 % with datasketch's default 0.5/0.5).
LSH_WEIGHTS = (0.1, 0.9)

_P = np.uint64(0x100000001B3)  # odd multiplier of the prefix hash (FNV-1a 64 prime)
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))  # its inverse mod 2^64
_CHUNK = 8192  # shingles permuted at a time: bounds the (num_perm x chunk) uint32 temporary (2 MiB at 64)
_MAX_U32 = np.iinfo(np.uint32).max
_MAX_CACHED = 1 << 20  # bytes of text up to which the hashing tables are kept (32 MiB of tables at most)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, in place: spreads the polynomial hash over all bits."""
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def normalise(text: str) -> str:
    """Runs of whitespace (any Unicode whitespace) become one space; ends are stripped."""
    # Fast path for text that already is (row_text's output): every whitespace character but the
    # ASCII space is a Unicode "Separator" or "Other", which isprintable() rejects.
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


class ShingleHasher:
    """32-bit hashes of the word shingles of normalised (single-spaced) texts, vectorised.

    The hash of the bytes [s, e) is (prefix[e] - prefix[s]) * P^-s with prefix[k] the sum of
    byte_j * P^j for j < k (mod 2^64), a polynomial hash independent of the position, so all
    shingles of a text are hashed with a handful of numpy calls. The power tables and the prefix
    buffer are kept and grown to the longest text seen: big fresh temporaries (page faults on
    every call) cost more than the arithmetic.
    """

    def __init__(self, shingle: int):
        self.shingle = shingle
        self._pow = np.ones(1, dtype=np.uint64)
        self._inv = np.ones(1, dtype=np.uint64)
        self._work = np.zeros(1, dtype=np.uint64)
        self._prefix = np.zeros(1, dtype=np.uint64)

    @staticmethod
    def _tables(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        powers = np.full(size, _P, dtype=np.uint64)
        powers[0] = 1
        np.cumprod(powers, out=powers)  # P^j, wrapping mod 2^64
        inverse = np.full(size, _P_INV, dtype=np.uint64)
        inverse[0] = 1
        np.cumprod(inverse, out=inverse)  # P^-j
        return powers, inverse, np.empty(size, dtype=np.uint64), np.zeros(size + 1, dtype=np.uint64)

    def __call__(self, text: str | bytes) -> np.ndarray:
        """Hashes of the shingles of `text` (str, or its UTF-8 bytes)."""
        data = np.frombuffer(text.encode("utf-8") if isinstance(text, str) else text, dtype=np.uint8)
        n = data.size
        if n == 0:
            return np.empty(0, dtype=np.uint32)
        if n <= self._pow.size:
            powers, inverse, work, prefix = self._pow, self._inv, self._work, self._prefix
        elif n <= _MAX_CACHED:
            tables = self._tables(1 << max(n, 1024).bit_length())
            self._pow, self._inv, self._work, self._prefix = tables
            powers, inverse, work, prefix = tables
        else:  # an outsized text: tables for it alone, not kept
            powers, inverse, work, prefix = self._tables(n)
        work = work[:n]
        # unsigned array arithmetic wraps mod 2^64 silently (no np.errstate: it costs a row's hashing)
        np.multiply(data, powers[:n], out=work)
        np.cumsum(work, out=prefix[1 : n + 1])  # prefix[0] stays 0
        spaces = np.flatnonzero(data == 0x20)
        words, k = spaces.size + 1, self.shingle
        if words >= k:
            s = np.empty(words - k + 1, dtype=np.intp)
            s[0] = 0
            s[1:] = spaces[: words - k] + 1
            e = np.empty(words - k + 1, dtype=np.intp)
            e[:-1] = spaces[k - 1 :]
            e[-1] = n
        else:  # fewer words than a shingle: the whole text is one
            s, e = np.zeros(1, dtype=np.intp), np.full(1, n, dtype=np.intp)
        span = prefix[e]
        span -= prefix[s]
        span *= inverse[s]
        _fmix64(span)
        span >>= np.uint64(32)
        return span.astype(np.uint32)


class Deduper:
    """Streaming exact + near-duplicate detector for the rows of one role.

    State per kept row: a 16-byte blake2b digest, a `num_perm` x uint32 MinHash signature (for
    verifying LSH candidates), its `key`, and its entries in the band index (datasketch's band
    layout, plain dicts); exact and near duplicates add nothing. Texts are never kept.
    """

    def __init__(self, threshold: float = 0.85, num_perm: int = 64, shingle: int = 5, seed: int = 1):
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if shingle < 1:
            raise ValueError("shingle must be >= 1")
        self.threshold, self.num_perm, self.shingle, self.seed = threshold, num_perm, shingle, seed
        a, b = affine32_permutations(num_perm, seed)
        self._a, self._b = a[:, None], b[:, None]
        self._hasher = ShingleHasher(shingle)
        bands, rows = lsh_bands(threshold, num_perm, LSH_WEIGHTS)
        if bands < 2:
            raise ValueError(f"threshold {threshold} leaves {bands} LSH band (at least 2 are needed)")
        self._lsh = _Bands(bands, rows)
        self._digests: dict[bytes, int] = {}  # blake2b of the normalised text -> row index
        self._keys: list[str] = []  # row index -> the caller's key
        self._sigs = bytearray()  # row index -> signature (num_perm uint32s)
        self.counts: Counter = Counter()  # "new", "exact", "near"
        self.duplicate_of: str | None = None  # key of the kept row the last check matched

    def __len__(self) -> int:
        """Rows kept (remembered) so far."""
        return len(self._keys)

    def signature(self, text: str | bytes) -> np.ndarray:
        """MinHash signature (num_perm x uint32) of the shingles of a normalised text (str or
        UTF-8 bytes), ASCII letters lower-cased."""
        hashes = self._hasher((text.encode("utf-8") if isinstance(text, str) else text).lower())
        sig = np.full(self.num_perm, _MAX_U32, dtype=np.uint32)
        for i in range(0, hashes.size, _CHUNK):
            # datasketch's affine32 permutations, a * h + b mod 2^32, one row per permutation
            # (a fresh (num_perm, chunk) array measured faster than a reused scratch buffer)
            permuted = self._a * hashes[None, i : i + _CHUNK]
            permuted += self._b
            np.minimum(sig, permuted.min(axis=1), out=sig)
        return sig

    def fingerprint(self, text: str) -> bytes:
        """What `check` needs of a text, as bytes: its 16-byte digest, then its signature.
        Cached with a session's rows so a rerun does not hash unchanged rows again."""
        norm = normalise(text).encode("utf-8")
        digest = hashlib.blake2b(norm, digest_size=16).digest()
        return digest + (self.signature(norm).tobytes() if norm else b"")

    def check(self, key: str, text: str) -> str | None:
        """None when `text` is new (it is then remembered under `key`), "exact" when the same
        normalised text was seen, "near" when a remembered text has estimated Jaccard >=
        threshold. `duplicate_of` then names the remembered row's key."""
        return self.check_fingerprint(key, self.fingerprint(text))

    def check_fingerprint(self, key: str, fingerprint: bytes) -> str | None:
        """`check` on a fingerprint made by this Deduper's settings."""
        self.duplicate_of = None
        digest = fingerprint[:16]
        seen = self._digests.get(digest)
        if seen is not None:
            self.duplicate_of = self._keys[seen]
            self.counts["exact"] += 1
            return "exact"
        index = len(self._keys)
        if len(fingerprint) > 16:
            # one pass over the bands: look up and (tentatively) insert; undone for a near duplicate
            added, shared = self._lsh.add(index, fingerprint, 16)
            if shared:
                candidates: set[int] = set()
                for _, _, hit in shared:
                    candidates.update((hit,) if isinstance(hit, int) else hit)
                idx = np.array(sorted(candidates), dtype=np.int64)
                sig = np.frombuffer(fingerprint, dtype=np.uint32, offset=16)
                sims = (np.frombuffer(self._sigs, dtype=np.uint32).reshape(-1, self.num_perm)[idx] == sig).mean(axis=1)
                best = int(np.argmax(sims))  # the most similar; the earliest on ties
                if sims[best] >= self.threshold:
                    self._lsh.undo(added)
                    self.duplicate_of = self._keys[int(idx[best])]
                    self.counts["near"] += 1
                    return "near"
                self._lsh.join(index, shared)
            self._sigs += memoryview(fingerprint)[16:]
        else:  # a row without text: a slot that no band points to
            self._sigs += bytes(4 * self.num_perm)
        self._digests[digest] = index
        self._keys.append(key)
        self.counts["new"] += 1
        return None


class _Bands:
    """LSH band buckets with datasketch's band layout, in plain dicts: a bucket holds one row
    index (an int) until a second row lands in it. About 1 KB a kept row with the signature,
    against 2.9 KB in MinHashLSH, whose every bucket is a Python set. A band's key is the hash
    of its bytes in the signature (uint32s, as the fingerprint stores them)."""

    def __init__(self, bands: int, rows: int):
        self.rows = rows
        self.tables: list[dict[int, int | list[int]]] = [{} for _ in range(bands)]
        self._spans = [(i * rows * 4, (i + 1) * rows * 4) for i in range(bands)]

    def add(self, index: int, data: bytes, offset: int = 0) -> tuple[list, list]:
        """Put `index` in every band bucket that is empty; return those buckets (to undo) and
        the (table, key, hit) of the buckets already holding rows (the candidates, to join)."""
        added, shared = [], []
        for table, (lo, hi) in zip(self.tables, self._spans):
            key = hash(data[offset + lo : offset + hi])
            hit = table.setdefault(key, index)
            if hit is index:
                added.append((table, key))
            else:
                shared.append((table, key, hit))
        return added, shared

    @staticmethod
    def undo(added: list) -> None:
        for table, key in added:
            del table[key]

    @staticmethod
    def join(index: int, shared: list) -> None:
        for table, key, hit in shared:
            if isinstance(hit, int):
                table[key] = [hit, index]
            else:
                hit.append(index)


def affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of datasketch's `MinHash(num_perm, seed)` in its default "affine32" scheme: odd
    multipliers and offsets, drawn from RandomState(seed) in the same order."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _gauss_legendre(f, lo: float, hi: float, nodes: tuple[np.ndarray, np.ndarray]) -> float:
    x, w = nodes
    half = (hi - lo) / 2
    return float(half * np.dot(w, f(half * x + (lo + hi) / 2)))


@lru_cache(maxsize=16)
def lsh_bands(threshold: float, num_perm: int, weights: tuple[float, float]) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive and negative probabilities, as
    datasketch's MinHashLSH picks them. Its integrands are polynomials of degree <= num_perm,
    which a Gauss-Legendre rule with num_perm/2 + 1 nodes integrates exactly (scipy's quad gets
    the same numbers to ~1e-14)."""
    nodes = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = _gauss_legendre(lambda s: 1 - (1 - s ** float(r)) ** float(b), 0.0, threshold, nodes)  # noqa: B023 (called here)
            fn = _gauss_legendre(lambda s: (1 - s ** float(r)) ** float(b), threshold, 1.0, nodes)  # noqa: B023
            error = fp * weights[0] + fn * weights[1]
            if error < best:
                best, opt = error, (b, r)
    return opt


def row_text(messages: list[dict]) -> str:
    """The text that identifies a row for dedup: user, assistant and tool contents plus tool-call
    names and arguments, whitespace-normalised. The system prompt (shared by every row of a role)
    and tool-call ids (random per session) are left out."""
    parts: list[str] = []
    for msg in messages:
        if msg.get("role") == "system":
            continue
        text = content_text(msg.get("content"))
        if text:
            parts.append(text)
        for call in msg.get("tool_calls") or ():
            fn = call.get("function") or {}
            parts.append(str(fn.get("name") or ""))
            args = fn.get("arguments")
            parts.append(args if isinstance(args, str) else orjson.dumps(args).decode())
    return normalise(" ".join(parts))
