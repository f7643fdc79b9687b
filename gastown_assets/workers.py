"""Ordered, bounded work in worker processes, for the per-file parse and the per-session rows.

Both are pure per item, CPU-bound Python (JSON, regexes, templates) plus the tokenizer, so they
run in `spawn`ed processes (no fork of a process that may hold threads: Dagster's, the
tokenizer's), results in input order, at most `window` items in flight (memory stays flat).
A pool starts only once `start_after` items were done inline: a rerun with little to do
never pays the workers' start (about a second of imports each).

GASTOWN_WORKERS sets the number of workers (0: everything inline); by default one per CPU.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def worker_count() -> int:
    from gastown_assets import settings  # the environment contract, imported only here: workers stay light

    value = (settings.env("GASTOWN_WORKERS") or "").strip()
    if value:
        return max(0, int(value))
    return os.cpu_count() or 1


def _single_threaded() -> None:
    # each worker is one of os.cpu_count(): the tokenizer's own thread pool would oversubscribe.
    # This runs in the worker process, on that process's own environment.
    os.environ["RAYON_NUM_THREADS"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def _init(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    _single_threaded()
    if initializer is not None:
        initializer(*initargs)


class Done:
    """An item whose result is already known: yielded in its place, never sent to a worker."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T | Done],
    *,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
    start_after: int = 64,
    workers: int | None = None,
    window: int = 16,
) -> Iterator[R]:
    """fn(item) for every item (`Done(value)`: value), in order. The first `start_after` items
    (all of them when there are no workers) run here, after `initializer(*initargs)`; the rest
    in worker processes set up the same way."""
    workers = worker_count() if workers is None else workers
    it = iter(items)
    done, ready = 0, False
    for item in it:
        if type(item) is Done:
            yield item.value
            continue
        if not ready:
            if initializer is not None:
                initializer(*initargs)
            ready = True
        yield fn(item)
        done += 1
        if workers and done >= start_after:
            break
    else:
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(initializer, initargs)) as pool:
        pending: deque[Future | Done] = deque()
        try:
            for item in it:
                pending.append(item if type(item) is Done else pool.submit(fn, item))
                while len(pending) >= window * workers or (pending and isinstance(pending[0], Done)):
                    head = pending.popleft()
                    yield head.value if isinstance(head, Done) else head.result()
            while pending:
                head = pending.popleft()
                yield head.value if isinstance(head, Done) else head.result()
        finally:
            for future in pending:
                if not isinstance(future, Done):
                    future.cancel()
