"""The search's typed state and its time policy, each stage callable alone (no training)."""

import dataclasses
import time

import jax
import numpy as np
import pytest
import sympy

import symnet
from symnet.search import Budget, Data, SearchState, SlotPlan, make_views, reduce
from symnet.search._budget import (
    FIRST_OVERHEAD,
    LOOKAHEAD,
    MIN_RESERVE,
    MIN_STEP_FRACTION,
    REFIT_STOP,
    REPOLISH,
    SIMPLIFY_SHARE,
)

CONFIG = symnet.SearchConfig(preset=("default", "rational"), views=("raw", "log"))


def _budget(total, spent=0.0):
    now = time.monotonic()
    return Budget(now - spent, now - spent + total)


def test_an_unlimited_budget_cuts_nothing():
    b = Budget.of(None)
    assert b.total is None and not b.late() and b.refits_open(10**6) and b.reserve() == 0
    plan = b.plan_slot(first_slot=False, first_pass=True, queued=5, rate=1.0)
    assert plan == (None, None, None) and plan.started() == plan
    assert b.split(3).deadline is None


def test_the_first_slots_share_the_room_left_for_training():
    b = _budget(100.0)
    plan = b.plan_slot(first_slot=True, first_pass=True, queued=7)
    room = 100.0 * (1 - SIMPLIFY_SHARE)
    assert plan.steps is None
    assert plan.seconds == pytest.approx(room / LOOKAHEAD, abs=0.5)
    assert plan.deadline - time.monotonic() == pytest.approx(room, abs=0.5)
    later = b.plan_slot(first_slot=True, first_pass=False, queued=7)
    assert later.seconds == pytest.approx(room, abs=0.5)


def test_a_slots_clock_starts_when_it_is_compiled_and_ends_with_the_room():
    now = time.monotonic()
    plan = SlotPlan(deadline=now + 10.0, steps=None, seconds=4.0)
    assert plan.started().deadline == pytest.approx(time.monotonic() + 4.0, abs=0.1)
    assert plan._replace(deadline=now + 1.0).started().deadline == now + 1.0


def test_a_slot_that_does_not_fit_runs_a_shorter_schedule_or_ends_the_search():
    b = _budget(100.0, spent=50.0)  # room: 35 s
    kw = dict(first_slot=False, first_pass=False, queued=0, full_steps=3000, overhead=5.0)
    assert b.plan_slot(rate=0.001, **kw).steps is None  # 3000 steps take 3 s: fits
    # (35 - 5) / 0.02 = 1500 steps of 3000: no other slot fits after it, it takes the room
    plan = b.plan_slot(rate=0.02, **kw)
    assert 1495 <= plan.steps <= 1500 and plan.seconds == pytest.approx(35.0, abs=0.5)
    least = int(MIN_STEP_FRACTION * 3000)
    # the share (a third of the room) fits less than the least schedule, the room does:
    # the least schedule, with the room as its time (5 + 0.01 * 1000 = 15 s, and another
    # slot of 15 s fits after it)
    plan = b.plan_slot(rate=0.01, **{**kw, "first_pass": True, "queued": 5})
    assert plan.steps == least
    assert plan.seconds == pytest.approx(35.0, abs=0.5)
    assert b.plan_slot(rate=0.1, **kw) is None  # 300 steps fit, fewer than 1000
    spent = _budget(100.0, spent=90.0)  # only the simplification share is left
    assert spent.plan_slot(first_slot=False, first_pass=False, queued=0) is None
    first = spent.plan_slot(first_slot=True, first_pass=False, queued=0)  # always runs
    assert first.steps is None and first.deadline <= time.monotonic()
    rated = spent.plan_slot(rate=0.01, **{**kw, "first_slot": True})
    assert rated.steps >= 1 and rated.deadline <= time.monotonic()


def test_the_last_slot_that_fits_takes_the_tail_of_the_budget():
    """A slot after which no shortest slot (1000 steps + overhead) would fit stretches its
    schedule over the whole room instead of leaving it idle."""
    b = _budget(100.0, spent=50.0)  # room: 35 s
    kw = dict(first_slot=False, first_pass=False, queued=0, full_steps=3000, overhead=5.0)
    # 3000 steps at 8 ms take 29 s, leaving 6 s: less than the shortest slot (13 s)
    plan = b.plan_slot(rate=0.008, **kw)
    assert plan.steps == pytest.approx(30 / 0.008, abs=2) and plan.steps > 3000
    assert plan.seconds == pytest.approx(35.0, abs=0.5)
    # 3000 steps at 2 ms take 11 s, leaving 24 s: room for more slots, the full schedule
    assert b.plan_slot(rate=0.002, **kw).steps is None
    # a measured overhead is used; before one, FIRST_OVERHEAD
    unknown = b.plan_slot(rate=0.008, **{**kw, "overhead": None})
    assert unknown.steps == pytest.approx((35 - FIRST_OVERHEAD) / 0.008, abs=2)


def test_the_reserve_shrinks_to_what_polishing_took():
    b = _budget(100.0)
    assert b.reserve() == pytest.approx(SIMPLIFY_SHARE * 100.0)
    assert b.reserve(polish_seconds=3.0) == pytest.approx(REPOLISH * 3.0)
    assert b.reserve(polish_seconds=0.01) == pytest.approx(MIN_RESERVE * 100.0)
    assert b.reserve(polish_seconds=60.0) == pytest.approx(SIMPLIFY_SHARE * 100.0)
    plan = b.plan_slot(first_slot=False, first_pass=False, queued=0, reserve=b.reserve(3.0))
    assert plan.seconds == pytest.approx(100.0 - REPOLISH * 3.0, abs=0.5)


def test_refits_stop_where_the_reserve_begins():
    assert _budget(100.0, spent=50.0).refits_open(5)
    late = _budget(100.0, spent=100.0 * (1 - REFIT_STOP * SIMPLIFY_SHARE) + 1.0)
    assert late.refits_open(0) and not late.refits_open(1)
    assert late.refits_open(1, reserve=1.0)  # a smaller reserve after a polish


def test_the_budget_is_split_evenly_over_the_outputs_left():
    b = _budget(90.0, spent=30.0)
    part = b.split(3)
    assert part.total == pytest.approx(20.0, abs=0.1)
    assert part.deadline <= b.deadline


@pytest.fixture
def X():
    return np.random.default_rng(0).uniform(1, 3, (200, 2))


def test_data_is_validated_split_and_probed_once(X):
    data = Data.build(X, X[:, 0] * X[:, 1], key=jax.random.key(0), names=["a", "b"])
    assert data.names == ("a", "b") and [s.name for s in data.symbols] == ["a", "b"]
    assert len(data.val) == 50 and len(data.tr) == 150 and not data.loo
    assert set(data.tr).isdisjoint(data.val)
    assert np.all(data.probe >= X.min(axis=0)) and np.all(data.probe <= X.max(axis=0))
    a, b = data.symbols
    assert data.score(a * b, 0, 1.0).val_nmse == 0.0
    assert data.score(sympy.log(a - 2), 0, 1.0) is None  # not finite inside the box
    tiny = Data.build(X[:8], X[:8, 0], key=jax.random.key(0))
    assert tiny.loo and len(tiny.tr) == len(tiny.val) == 8
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="`X` must be finite"):
        Data.build(bad, X[:, 0], key=jax.random.key(0))
    with pytest.raises(ValueError, match="`names` must hold 2"):
        Data.build(X, X[:, 0], key=jax.random.key(0), names=["a"])


def test_slots_run_every_view_with_the_first_architecture_then_the_next(X):
    data = Data.build(X, X[:, 0] * X[:, 1], key=jax.random.key(0))
    views = make_views(data.X, data.y, data.symbols, CONFIG.views)
    key = jax.random.key(3)
    state = SearchState.start(key, CONFIG.presets, views, [])
    config = dataclasses.replace(CONFIG, rounds=2)
    slots = []
    while (slot := state.next_slot(Budget.of(None), config)) is not None:
        slots.append((slot.preset, views[slot.view].name, slot.round))
        state.n_slots += 1
    order = [("default", "raw"), ("default", "log"), ("rational", "raw"), ("rational", "log")]
    assert slots == [(*s, 0) for s in order] + [(*s, 1) for s in order]
    # The keys a single-pass search always used: view 0 the 2nd and 3rd of split(key, 3),
    # view v split(fold_in(key, v)) with the first architecture; every other slot folds
    # its round and index in.
    state = SearchState.start(key, CONFIG.presets, views, [])
    keys = []
    while (slot := state.next_slot(Budget.of(None), config)) is not None:
        keys.append(slot.keys)
        state.n_slots += 1

    def same(got, expected):
        return all(
            np.array_equal(jax.random.key_data(a), jax.random.key_data(b))
            for a, b in zip(got, expected, strict=True)
        )

    assert same(keys[0], jax.random.split(key, 3)[1:])
    assert same(keys[1], jax.random.split(jax.random.fold_in(key, 1)))
    assert same(keys[2], jax.random.split(jax.random.fold_in(key, 1_000_003 + 2)))
    assert same(keys[5], jax.random.split(jax.random.fold_in(key, 2 * 1_000_003 + 5)))


def test_reduce_queues_views_of_the_reduced_target_next(X):
    X3 = np.random.default_rng(1).uniform(1, 3, (300, 3))
    y = X3[:, 0] ** 2 * (X3[:, 1] + np.sin(X3[:, 2]))
    data = Data.build(X3, y, key=jax.random.key(0))
    x0, x1, x2 = data.symbols
    surrogate = data.score(1.001 * x0**2 * (x1 + sympy.sin(x2)) + 1e-3 * x1, 0, 0.0)
    views = make_views(data.X, data.y, data.symbols, CONFIG.views)
    state = SearchState.start(jax.random.key(0), CONFIG.presets, views, [surrogate])
    state.queue = state.queue[2:]  # the first pass is half done
    state = reduce(state, data, CONFIG, Budget.of(None))
    assert [v.name for v in state.views[2:]] == ["factor", "factor+log"]  # y / x0**2 > 0
    assert state.queue[:4] == [(0, 2), (1, 2), (0, 3), (1, 3)]  # every architecture, next
    assert state.tried["factor"] and len(state.slots) == 8
    np.testing.assert_allclose(state.views[2].y, y / X3[:, 0] ** 2)
    again = reduce(state, data, CONFIG, Budget.of(None))  # nothing new to reduce
    assert len(again.views) == 4
    exact = SearchState.start(jax.random.key(0), CONFIG.presets, views, [])
    exact.candidates.append(dataclasses.replace(surrogate, val_nmse=0.0))
    assert len(reduce(exact, data, CONFIG, Budget.of(None)).views) == 2
