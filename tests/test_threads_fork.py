"""Threads and fork (issue 7): production pipelines call tokenclean from many Python threads
and from forked workers (multiprocessing, DataLoader workers, Spark/Dask executors).

* Many threads calling at once get the serial answer (no shared mutable state), and a large
  call releases the GIL (a pure-Python thread keeps running while it computes).
* After ``os.fork()`` a child can call tokenclean, with and without thread pools, whether or
  not the parent had already built its rayon pools (the child inherits pools whose threads do
  not exist; ``src/parallel.rs`` rebuilds them by checking the pid). Checked with
  ``multiprocessing``'s "fork" context and with raw ``os.fork``/``os.waitpid``, in this
  process and in fresh interpreters, with a timeout: a child that hangs is killed and the test
  fails.
* A stress test mixes threads, forks (while other threads are inside calls) and ``n_jobs``
  values under a hard time cap: ``faulthandler`` kills the whole run, with every thread's
  traceback, if it ever deadlocks.

The core runs serially below 65,536 tokens (``SERIAL_BELOW`` in ``src/parallel.rs``), so the
datasets here are larger than that: thread pools really are used.
"""

from __future__ import annotations

import faulthandler
import functools
import itertools
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import tokenclean
from tokenclean.filter import find_label_issues as find_mc
from tokenclean.token_classification.filter import find_label_issues_flat as find_flat

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    # Python >= 3.12 warns when a process with threads forks; that is the point here.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
    # cleanlab's warning for the low_memory job, which is also run with every n_jobs
    pytest.mark.filterwarnings("ignore:`n_jobs` is not used when `low_memory=True`:UserWarning"),
]

SERIAL_BELOW = 1 << 16  # the core's threshold for using a thread pool
CHILD_TIMEOUT = 60.0  # seconds a forked child may take before it counts as hung
N_JOBS = (None, 1, 2, 3, 4)


# ---------------------------------------------------------------------------
# datasets and jobs
# ---------------------------------------------------------------------------


def _flat_data(
    n: int, k: int, seed: int, dtype: Any = np.float64, decimals: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels (n,) int64, probabilities (n, k), sentence lengths) with about 10% noise."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    logits = rng.normal(0.0, 1.5, size=(n, k))
    logits[np.arange(n), true] += rng.uniform(0.0, 4.0, n)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    if decimals is not None:
        p = np.round(p, decimals)  # ties
    labels = true.copy()
    flip = rng.random(n) < 0.1
    labels[flip] = rng.integers(0, k, int(flip.sum()))
    lengths = []
    left = n
    while left:
        t = min(left, int(rng.integers(1, 40)))
        lengths.append(t)
        left -= t
    return labels, p.astype(dtype), np.array(lengths, dtype=np.int64)


def _split(
    labels: np.ndarray, probs: np.ndarray, lengths: np.ndarray, mixed: bool = False
) -> tuple[list[list[int]], list[np.ndarray]]:
    starts = np.concatenate([[0], np.cumsum(lengths)])
    out_l, out_p = [], []
    for s, (a, b) in enumerate(itertools.pairwise(starts)):
        out_l.append(labels[a:b].tolist())
        block = probs[a:b]
        out_p.append(block.astype(np.float32) if mixed and s % 3 == 0 else block)
    return out_l, out_p


def _comparable(result: Any) -> Any:
    if isinstance(result, np.ndarray):
        return (result.dtype.str, result.shape, result.tobytes())
    return tuple(result)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[int | None], Any]
    tokens: int

    def __call__(self, n_jobs: int | None) -> Any:
        return _comparable(self.run(n_jobs))


@functools.cache
def jobs() -> dict[str, Job]:
    """Calls over every API, dtype, filter and ranking; all but one above SERIAL_BELOW."""
    out: list[Job] = []

    lab, pp, ln = _flat_data(4_000, 7, 1)
    small_l, small_p = _split(lab, pp, ln)
    out.append(
        Job(
            "list_small_margin",
            lambda nj: tokenclean.find_label_issues(
                small_l, small_p, return_indices_ranked_by="normalized_margin", n_jobs=nj
            ),
            4_000,
        )
    )

    lab32, pp32, ln32 = _flat_data(150_000, 5, 2, np.float32, decimals=2)
    out.append(
        Job(
            "flat_f32_ties_both",
            lambda nj: find_flat(lab32, pp32, ln32, filter_by="both", n_jobs=nj),
            150_000,
        )
    )
    out.append(
        Job(
            "flat_f32_adjust_prune",
            lambda nj: find_flat(
                lab32,
                pp32,
                ln32,
                frac_noise=0.5,
                min_examples_per_class=5,
                rank_by_kwargs={"adjust_pred_probs": True},
                n_jobs=nj,
            ),
            150_000,
        )
    )

    lab64, pp64, ln64 = _flat_data(120_000, 9, 3)
    out.append(
        Job(
            "flat_f64_entropy_by_class",
            lambda nj: find_flat(
                lab64,
                pp64,
                ln64,
                filter_by="prune_by_class",
                return_indices_ranked_by="confidence_weighted_entropy",
                n_jobs=nj,
            ),
            120_000,
        )
    )
    out.append(
        Job(
            "flat_f64_low_self_confidence",
            lambda nj: find_flat(lab64, pp64, ln64, filter_by="low_self_confidence", n_jobs=nj),
            120_000,
        )
    )

    labm, ppm, lnm = _flat_data(100_000, 6, 4)
    big_l, big_p = _split(labm, ppm, lnm, mixed=True)
    out.append(
        Job(
            "list_mixed_dtypes",
            lambda nj: tokenclean.find_label_issues(big_l, big_p, n_jobs=nj),
            100_000,
        )
    )
    out.append(
        Job(
            "list_confident_learning_unranked",
            lambda nj: tokenclean.find_label_issues(
                big_l,
                big_p,
                filter_by="confident_learning",
                return_indices_ranked_by=None,
                n_jobs=nj,
            ),
            100_000,
        )
    )
    out.append(
        Job(
            "list_low_memory",
            lambda nj: tokenclean.find_label_issues(big_l, big_p, low_memory=True, n_jobs=nj),
            100_000,
        )
    )

    labc, ppc, _ = _flat_data(100_000, 4, 5)
    ppc_f = np.asfortranarray(ppc)
    out.append(Job("mc_fortran_mask", lambda nj: find_mc(labc, ppc_f, n_jobs=nj), 100_000))
    out.append(
        Job(
            "mc_predicted_neq_given",
            lambda nj: find_mc(
                labc,
                ppc,
                filter_by="predicted_neq_given",
                return_indices_ranked_by="self_confidence",
                n_jobs=nj,
            ),
            100_000,
        )
    )
    return {j.name: j for j in out}


@functools.cache
def serial_answers() -> dict[str, Any]:
    """Every job's answer with n_jobs=1 (which never touches a thread pool)."""
    return {name: job(1) for name, job in jobs().items()}


def run_job(name: str, n_jobs: int | None) -> bool:
    """Runs one job and compares it with the serial answer (module level: picklable)."""
    return jobs()[name](n_jobs) == serial_answers()[name]


def test_the_jobs_find_issues_and_use_pools() -> None:
    for name, job in jobs().items():
        raw = job.run(1)
        found = int(raw.sum()) if isinstance(raw, np.ndarray) and raw.dtype == bool else len(raw)
        assert found > 0, name
    assert sum(job.tokens >= SERIAL_BELOW for job in jobs().values()) == len(jobs()) - 1


@pytest.mark.parametrize("n_jobs", [None, 2, 3, 4])
def test_n_jobs_never_changes_the_answer(n_jobs: int | None) -> None:
    for name, job in jobs().items():
        assert job(n_jobs) == serial_answers()[name], (name, n_jobs)


# ---------------------------------------------------------------------------
# (a) many threads
# ---------------------------------------------------------------------------


def _run_threads(plans: list[list[tuple[str, int | None]]], timeout: float = 120.0) -> list[str]:
    """Runs each plan (a list of (job, n_jobs)) in its own thread, all released at once.
    Returns the failures; a thread still running after ``timeout`` is a failure (a hang)."""
    barrier = threading.Barrier(len(plans))
    failures: list[str] = []
    lock = threading.Lock()

    def worker(i: int, plan: list[tuple[str, int | None]]) -> None:
        try:
            barrier.wait(timeout=30)
            for name, n_jobs in plan:
                if not run_job(name, n_jobs):
                    with lock:
                        failures.append(f"thread {i}: {name} with n_jobs={n_jobs} differs")
        except BaseException as e:
            with lock:
                failures.append(f"thread {i}: {type(e).__name__}: {e}")

    threads = [
        threading.Thread(target=worker, args=(i, plan), daemon=True, name=f"caller-{i}")
        for i, plan in enumerate(plans)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    hung = [t.name for t in threads if t.is_alive()]
    if hung:
        failures.append(f"threads still running after {timeout} s: {hung}")
    return failures


def test_concurrent_threads_give_the_serial_answer() -> None:
    serial_answers()
    names = sorted(jobs())
    rng = np.random.default_rng(11)
    plans = [
        [
            (names[int(rng.integers(len(names)))], N_JOBS[int(rng.integers(len(N_JOBS)))])
            for _ in range(4)
        ]
        for _ in range(8)
    ]
    # every job and every n_jobs value appears at least once
    plans[0] += [(name, N_JOBS[i % len(N_JOBS)]) for i, name in enumerate(names)]
    assert _run_threads(plans) == []


def test_threads_share_one_input_with_different_pool_sizes() -> None:
    """The same arrays read by 8 threads at once, each with its own n_jobs."""
    serial_answers()
    name = "flat_f32_ties_both"
    plans = [[(name, N_JOBS[i % len(N_JOBS)])] * 3 for i in range(8)]
    assert _run_threads(plans) == []


# --- the GIL is released ---------------------------------------------------


@functools.cache
def _huge() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _flat_data(2_000_000, 5, 21, np.float32)


def _gil_probe(call: Callable[[], Any]) -> tuple[float, float, int]:
    """Runs ``call`` while a pure-Python thread counts as fast as it can.

    Returns (duration of the call, longest stall of the counter during the call, counts
    during the call). A call holding the GIL stalls the counter for its whole duration.
    """
    stop = threading.Event()
    started = threading.Event()
    state = {"count": 0, "window": False, "max_gap": 0.0, "in_window": 0}

    def counter() -> None:
        clock = time.perf_counter
        last = clock()
        started.set()
        while not stop.is_set():
            now = clock()
            if state["window"]:
                state["in_window"] += 1
                if now - last > state["max_gap"]:
                    state["max_gap"] = now - last
            last = now
            state["count"] += 1

    t = threading.Thread(target=counter, daemon=True)
    t.start()
    started.wait()
    time.sleep(0.05)
    state["window"] = True
    t0 = time.perf_counter()
    call()
    duration = time.perf_counter() - t0
    state["window"] = False
    stop.set()
    t.join(10)
    return duration, float(state["max_gap"]), int(state["in_window"])


@pytest.mark.parametrize(
    ("api", "n_jobs"), [("flat", 1), ("flat", 2), ("list", 1)], ids=["flat-1", "flat-2", "list-1"]
)
def test_a_large_call_releases_the_gil(api: str, n_jobs: int) -> None:
    labels, probs, lengths = _huge()
    if api == "flat":

        def call() -> Any:
            return find_flat(labels, probs, lengths, n_jobs=n_jobs)
    else:
        few = np.array([lengths.sum() // 4] * 3 + [lengths.sum() - 3 * (lengths.sum() // 4)])
        sentences = _split(labels, probs, few)

        def call() -> Any:
            return tokenclean.find_label_issues(*sentences, n_jobs=n_jobs)

    call()  # warm up (pool, page faults)
    attempts = []
    for _ in range(3):  # a loaded machine can stall a thread; a held GIL stalls it every time
        duration, max_gap, counts = _gil_probe(call)
        attempts.append((round(duration, 3), round(max_gap, 3), counts))
        if counts > 0 and max_gap < 0.5 * duration:
            break
    else:
        pytest.fail(
            "a pure-Python thread stalled for most of the call, so the GIL was held: "
            f"(duration s, longest stall s, counts) = {attempts}"
        )
    assert duration > 0.05, "the call is too short to tell whether the GIL is released"


# ---------------------------------------------------------------------------
# (b) fork
# ---------------------------------------------------------------------------


def _wait_child(pid: int, timeout: float) -> int:
    """Exit status of a forked child; kills it and fails if it takes longer than ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"forked child {pid} hung for more than {timeout} s (killed)")
        time.sleep(0.01)


def _fork_and_run(plan: list[tuple[str, int | None]], timeout: float = CHILD_TIMEOUT) -> int:
    """Forks; the child runs ``plan`` and exits 0 when every answer is the serial one."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 3
        try:
            bad = [(name, nj) for name, nj in plan if not run_job(name, nj)]
            if bad:
                os.write(2, f"child: answers differ for {bad}\n".encode())
            code = 1 if bad else 0
        except BaseException:
            os.write(2, traceback.format_exc().encode())
            code = 2
        finally:
            os._exit(code)
    return _wait_child(pid, timeout)


BIG_JOBS = ("flat_f32_ties_both", "list_mixed_dtypes", "mc_fortran_mask")


def test_raw_fork_after_the_parent_used_a_pool() -> None:
    serial_answers()
    for name in BIG_JOBS:
        assert run_job(name, 2) and run_job(name, None)  # pools of 2 and the default exist
    plan = [(name, nj) for name in BIG_JOBS for nj in (2, None, 3, 1)]
    assert _fork_and_run(plan) == 0
    # and the parent's own pools still work afterwards
    assert all(run_job(name, 2) for name in BIG_JOBS)


def test_raw_fork_twice_grandchild() -> None:
    """A child that used pools forks again: the grandchild needs fresh pools too."""
    serial_answers()
    assert run_job(BIG_JOBS[0], 2)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            ok = run_job(BIG_JOBS[0], 2)
            grandchild = _fork_and_run([(BIG_JOBS[1], 2), (BIG_JOBS[0], None)])
            code = 0 if ok and grandchild == 0 else 1
        except BaseException:
            os.write(2, traceback.format_exc().encode())
            code = 2
        finally:
            os._exit(code)
    assert _wait_child(pid, 2 * CHILD_TIMEOUT) == 0


def _pool_task(name: str, n_jobs: int | None) -> tuple[int, bool]:
    return os.getpid(), run_job(name, n_jobs)


@pytest.mark.parametrize("warm_parent", [True, False], ids=["parent-just-used-pools", "as-is"])
def test_multiprocessing_fork_workers(warm_parent: bool) -> None:
    """multiprocessing's fork workers. (A parent that never built a pool cannot be had in
    this process once any test used one: ``test_fork_in_a_fresh_interpreter`` covers it.)"""
    serial_answers()
    if warm_parent:
        assert all(run_job(name, 2) for name in BIG_JOBS)
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(2)
    try:
        pending = [
            pool.apply_async(_pool_task, (name, nj)) for nj in (2, None, 4, 1) for name in BIG_JOBS
        ]
        results = []
        for r in pending:
            try:
                results.append(r.get(timeout=CHILD_TIMEOUT))
            except multiprocessing.TimeoutError:
                pytest.fail("a forked multiprocessing worker hung")
        pool.close()
    finally:
        pool.terminate()
        pool.join()
    assert all(ok for _, ok in results), results
    assert {pid for pid, _ in results} - {os.getpid()}


# --- in a fresh interpreter: a parent that has (or has not) built pools ---------------------

FRESH_SCRIPT = textwrap.dedent(
    """
    import os, sys, time, signal, multiprocessing
    import numpy as np
    from tokenclean.token_classification.filter import find_label_issues_flat as find_flat

    mode = sys.argv[1]
    rng = np.random.default_rng(5)
    n, k = 150_000, 6
    probs = rng.dirichlet(np.full(k, 0.3), n)
    labels = probs.argmax(axis=1)
    noisy = rng.random(n) < 0.1
    labels[noisy] = rng.integers(0, k, int(noisy.sum()))
    lengths = np.full(n // 25, 25)

    def answer(n_jobs):
        return find_flat(labels, probs, lengths, filter_by="both", n_jobs=n_jobs).tobytes()

    serial = answer(1)  # n_jobs=1 never builds a pool
    if mode == "warm":
        assert answer(2) == serial and answer(None) == serial

    def child_work():
        for n_jobs in (2, None, 3):
            if answer(n_jobs) != serial:
                return 1
        return 0

    def wait(pid, timeout):
        deadline = time.monotonic() + timeout
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                print("child hung and was killed", flush=True)
                return 99
            time.sleep(0.01)

    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            code = child_work()
        finally:
            os._exit(code)
    raw = wait(pid, %(timeout)s)

    with multiprocessing.get_context("fork").Pool(2) as pool:
        try:
            mp = pool.apply_async(child_work).get(timeout=%(timeout)s)
        except multiprocessing.TimeoutError:
            mp = 99
        pool.terminate()

    after = answer(2) == serial  # the parent still works after forking
    print(f"raw fork: {raw}, multiprocessing: {mp}, parent after fork: {after}", flush=True)
    sys.exit(0 if raw == 0 and mp == 0 and after else 1)
    """
)


@pytest.mark.parametrize("mode", ["warm", "cold"])
def test_fork_in_a_fresh_interpreter(mode: str) -> None:
    """``cold``: the parent never built a pool before forking; ``warm``: it did."""
    script = FRESH_SCRIPT % {"timeout": CHILD_TIMEOUT}
    try:
        done = subprocess.run(
            [sys.executable, "-c", script, mode],
            capture_output=True,
            text=True,
            timeout=3 * CHILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the forking interpreter hung: {e.stdout!r} {e.stderr!r}")
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------------------
# (c) stress: threads, forks while calls are running, every n_jobs, with a hard time cap
# ---------------------------------------------------------------------------

STRESS_SECONDS = 8.0  # how long the threads keep calling (longer until MIN_FORKS children ran)
MIN_FORKS = 5
STRESS_HARD_CAP = 90  # seconds; past this, faulthandler dumps every thread and exits


def test_stress_threads_forks_and_pool_sizes() -> None:
    serial_answers()
    names = sorted(jobs())
    stop = threading.Event()
    failures: list[str] = []
    calls = [0]
    lock = threading.Lock()

    def caller(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            while not stop.is_set():
                name = names[int(rng.integers(len(names)))]
                n_jobs = N_JOBS[int(rng.integers(len(N_JOBS)))]
                if not run_job(name, n_jobs):
                    with lock:
                        failures.append(f"{name} with n_jobs={n_jobs} differs")
                with lock:
                    calls[0] += 1
        except BaseException as e:
            with lock:
                failures.append(f"caller {seed}: {type(e).__name__}: {e}")

    faulthandler.dump_traceback_later(STRESS_HARD_CAP, exit=True)
    try:
        threads = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(4)]
        for t in threads:
            t.start()
        rng = np.random.default_rng(99)
        children = 0
        end = time.monotonic() + STRESS_SECONDS
        # A loaded machine forks slowly: the count, not the clock, ends the loop.
        while time.monotonic() < end or children < MIN_FORKS:
            time.sleep(float(rng.uniform(0.05, 0.3)))
            plan = [
                (names[int(rng.integers(len(names)))], N_JOBS[int(rng.integers(len(N_JOBS)))])
                for _ in range(2)
            ]
            # forks while the caller threads are inside tokenclean (pools busy)
            status = _fork_and_run(plan, timeout=STRESS_HARD_CAP / 2)
            children += 1
            if status != 0:
                failures.append(f"forked child running {plan} exited with {status}")
        stop.set()
        for t in threads:
            t.join(STRESS_HARD_CAP / 2)
        if any(t.is_alive() for t in threads):
            failures.append("a caller thread is still running (hang)")
    finally:
        stop.set()
        faulthandler.cancel_dump_traceback_later()
    assert failures == []
    assert children >= MIN_FORKS and calls[0] >= 10, (children, calls[0])


# ---------------------------------------------------------------------------
# helpers used by the module's own sanity checks
# ---------------------------------------------------------------------------


def test_fork_helper_detects_a_hang() -> None:
    """The timeout path of the fork helpers works (a child that sleeps forever is killed)."""
    pid = os.fork()
    if pid == 0:
        try:
            time.sleep(3600)
        finally:
            os._exit(0)
    with pytest.raises(pytest.fail.Exception, match="hung"):
        _wait_child(pid, 0.3)
