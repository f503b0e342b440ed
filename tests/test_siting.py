"""Tests of p-median, p-center and capacitated covering (coverage.plan.objectives)."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from coverage.errors import InputError
from coverage.plan import median
from coverage.plan import objectives as siting
from coverage.plan.objectives import (
    solve_capacitated_cover,
    solve_p_center,
    solve_p_median,
)

# three cells on a line, one existing point, two candidate sites: hand-computable
CELLS = np.array([[0.0, 0.0], [1000.0, 0.0], [3000.0, 0.0]])
POP = np.array([100.0, 200.0, 300.0])
EXISTING = np.array([[0.0, 0.0]])
CANDIDATES = np.array([[1000.0, 0.0], [3000.0, 0.0]])


def test_p_median_by_hand():
    # candidate 0 leaves 300 people 2 km away (600,000); candidate 1 leaves 200
    # people 1 km away (200,000)
    res = solve_p_median(CELLS, POP, EXISTING, CANDIDATES, 1)
    assert res.status == "optimal"
    np.testing.assert_array_equal(res.selected, [1])
    assert res.objective == pytest.approx(200_000)
    assert res.bound == pytest.approx(200_000)
    assert res.objective_before == pytest.approx(100 * 0 + 200 * 1000 + 300 * 3000)
    assert res.mean_distance_m == pytest.approx(200_000 / 600)
    np.testing.assert_allclose(res.distance_m, [0, 1000, 0])
    both = solve_p_median(CELLS, POP, EXISTING, CANDIDATES, 2)
    assert both.objective == 0.0
    np.testing.assert_array_equal(both.selected, [0, 1])


def test_p_center_by_hand():
    res = solve_p_center(CELLS, POP, EXISTING, CANDIDATES, 1)
    assert res.status == "optimal"
    np.testing.assert_array_equal(res.selected, [1])
    assert res.objective == pytest.approx(1000)
    assert res.bound == pytest.approx(1000)
    assert res.objective_before == pytest.approx(3000)


def test_capacitated_cover_by_hand():
    # the existing point (capacity 150) reaches cells 0 and 1; candidate 0
    # (capacity 250) reaches the same cells, candidate 1 (300) reaches cell 2
    res = solve_capacitated_cover(
        CELLS,
        POP,
        EXISTING,
        150.0,
        CANDIDATES,
        np.array([250.0, 300.0]),
        1,
        radius_m=1000,
        demand_group=np.array(["a", "a", "b"]),
    )
    assert res.status == "optimal"
    np.testing.assert_array_equal(res.selected, [1])
    assert res.objective == pytest.approx(450)
    assert res.objective_before == pytest.approx(150)
    np.testing.assert_array_equal(res.saturated_existing, [0])
    np.testing.assert_array_equal(res.saturated_candidates, [1])
    np.testing.assert_allclose(res.facility_load, [150, 0, 300])
    assert res.covered_pop.sum() == pytest.approx(450)
    assert res.unserved_by_group == pytest.approx({"a": 150.0})
    assert "lack of capacity" in res.detail and "a (150)" in res.detail


def test_capacitated_cover_says_who_is_out_of_reach():
    res = solve_capacitated_cover(
        CELLS, POP, EXISTING, 1000.0, CANDIDATES[:1], 1000.0, 1, radius_m=1000
    )
    np.testing.assert_array_equal(res.infeasible_demand, [2])
    assert res.objective == pytest.approx(300)
    assert "300 people in 1 cell(s) have no point or candidate" in res.detail


def test_infeasible_without_any_point():
    res = solve_p_median(CELLS, POP, np.zeros((0, 2)), CANDIDATES, 0)
    assert res.status == "infeasible"
    np.testing.assert_array_equal(res.infeasible_demand, [0, 1, 2])
    assert "cannot be served" in res.detail
    res = solve_p_center(CELLS, POP, np.zeros((0, 2)), np.zeros((0, 2)), 3)
    assert res.status == "infeasible"


def test_bad_inputs():
    with pytest.raises(InputError):
        solve_p_median(CELLS, POP, EXISTING, CANDIDATES, -1)
    with pytest.raises(InputError):
        solve_p_median(CELLS, POP[:2], EXISTING, CANDIDATES, 1)
    with pytest.raises(InputError):
        solve_capacitated_cover(
            CELLS, POP, EXISTING, -1.0, CANDIDATES, 1.0, 1, radius_m=1000
        )


def test_zero_population_cells_do_not_count():
    pop = np.array([100.0, 0.0, 0.0])
    res = solve_p_median(CELLS, pop, EXISTING, CANDIDATES, 1)
    assert res.objective == 0.0
    assert res.selected.size == 0
    assert "only 0 new site(s)" in res.detail


# ------------------------------------------------------------- brute force


def _instance(seed: int, n: int = 18, e: int = 2, c: int = 7):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 10_000, (n, 2))
    pop = rng.integers(0, 50, n).astype(float)
    pop[0] = max(pop[0], 1.0)
    return d, pop, rng.uniform(0, 10_000, (e, 2)), rng.uniform(0, 10_000, (c, 2))


def _brute(d, pop, ex, cand, k, kind):
    best = np.inf
    live = pop > 0
    for sel in itertools.combinations(range(len(cand)), k):
        fac = np.vstack([ex, cand[list(sel)]])
        dist = cdist(d[live], fac).min(axis=1)
        val = float(pop[live] @ dist) if kind == "median" else float(dist.max())
        best = min(best, val)
    return best


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 3), e=st.integers(0, 3))
def test_p_median_and_p_center_match_enumeration(seed, k, e):
    d, pop, ex, cand = _instance(seed, e=e)
    med = solve_p_median(d, pop, ex, cand, k)
    cen = solve_p_center(d, pop, ex, cand, k)
    assert med.status == cen.status == "optimal"
    assert med.objective == pytest.approx(_brute(d, pop, ex, cand, k, "median"))
    assert cen.objective == pytest.approx(_brute(d, pop, ex, cand, k, "center"))
    assert len(med.selected) <= k
    assert len(cen.selected) <= k


@pytest.mark.parametrize("seed", range(6))
def test_p_median_chained_form_matches_enumeration(seed, monkeypatch):
    monkeypatch.setattr(siting, "CHAIN_FACTOR", 0)
    d, pop, ex, cand = _instance(seed, e=seed % 3)
    res = siting.solve_p_median(d, pop, ex, cand, 2)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(_brute(d, pop, ex, cand, 2, "median"))
    assert res.bound == pytest.approx(res.objective)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), e=st.integers(0, 3))
def test_p_median_objective_non_increasing_in_k(seed, e):
    d, pop, ex, cand = _instance(seed, e=e)
    values = [
        solve_p_median(d, pop, ex, cand, k).objective
        for k in range(1 if e == 0 else 0, 6)
    ]
    assert all(b <= a * (1 + 1e-9) for a, b in itertools.pairwise(values))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(0, 2))
def test_capacitated_cover_matches_enumeration(seed, k):
    d, pop, ex, cand = _instance(seed, n=14, e=2, c=5)
    rng = np.random.default_rng(seed + 1)
    cap_e = rng.integers(0, 120, len(ex)).astype(float)
    cap_c = rng.integers(0, 120, len(cand)).astype(float)
    res = solve_capacitated_cover(d, pop, ex, cap_e, cand, cap_c, k, radius_m=3500)
    best = 0.0
    for sel in itertools.combinations(range(len(cand)), k):
        fixed = solve_capacitated_cover(
            d,
            pop,
            np.vstack([ex, cand[list(sel)]]),
            np.concatenate([cap_e, cap_c[list(sel)]]),
            np.zeros((0, 2)),
            1.0,
            0,
            radius_m=3500,
        )
        best = max(best, fixed.objective)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best, abs=1e-6)
    assert np.all(res.facility_load[: len(ex)] <= cap_e + 1e-6)
    assert np.all(res.covered_pop <= pop + 1e-6)


def test_time_limit_reports_a_bound():
    d, pop, ex, cand = _instance(3, n=400, e=0, c=60)
    res = solve_p_center(d, pop, ex, cand, 5, time_limit_s=0.0)
    assert res.status in {"optimal", "feasible"}
    assert res.bound <= res.objective
    if res.status == "feasible":
        assert "time limit" in res.detail


# ------------------------------------------------------------------ peers


def _spopt():
    pytest.importorskip(
        "spopt", reason="spopt not installed (pip install -e '.[peers]')"
    )
    pulp = pytest.importorskip("pulp", reason="pulp not installed")
    from spopt.locate import PCenter, PMedian

    return pulp, PMedian, PCenter


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pulp 3 about pulp 4
@pytest.mark.parametrize("seed", [1, 2])
def test_p_median_equals_spopt(seed):
    pulp, p_median, _ = _spopt()
    d, pop, ex, cand = _instance(seed, n=40, e=3, c=10)
    live = pop > 0
    k = 3
    ours = solve_p_median(d, pop, ex, cand, k)
    fac = np.vstack([ex, cand])
    predefined = np.r_[np.ones(len(ex)), np.zeros(len(cand))].astype(int)
    model = p_median.from_cost_matrix(
        cdist(d[live], fac),
        pop[live],
        p_facilities=len(ex) + k,
        predefined_facilities_arr=predefined,
    ).solve(pulp.PULP_CBC_CMD(msg=False))
    assert ours.objective == pytest.approx(model.problem.objective.value(), rel=1e-7)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pulp 3 about pulp 4
@pytest.mark.parametrize("seed", [1, 2])
def test_p_center_equals_spopt(seed):
    pulp, _, p_center = _spopt()
    d, pop, ex, cand = _instance(seed, n=40, e=3, c=10)
    live = pop > 0
    k = 3
    ours = solve_p_center(d, pop, ex, cand, k)
    fac = np.vstack([ex, cand])
    predefined = np.r_[np.ones(len(ex)), np.zeros(len(cand))].astype(int)
    model = p_center.from_cost_matrix(
        cdist(d[live], fac),
        p_facilities=len(ex) + k,
        predefined_facilities_arr=predefined,
    ).solve(pulp.PULP_CBC_CMD(msg=False))
    assert ours.objective == pytest.approx(model.problem.objective.value(), rel=1e-7)


# ------------------------------------------- Lagrangian bound and local search


def _direct_milp(d, pop, ex, cand, k):
    """The radius-formulation MILP on every pair, as before the Lagrangian."""
    live = pop > 0
    dl, w = d[live], pop[live]
    d_exist = median._nearest(dl, ex)
    pi, pj, pd = median._median_pairs(dl, cand, d_exist, k)
    sel, status, _ = median._median_milp(
        w,
        d_exist,
        pi,
        pj,
        pd,
        len(cand),
        k,
        exact_k=False,
        t0=time.perf_counter(),
        time_limit_s=60.0,
        mip_rel_gap=1e-9,
        stats={},
    )
    assert status == "optimal"
    return float(w @ median._open_distance(dl, ex, cand, sel))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 8),
    e=st.integers(1, 6),
    steps=st.sampled_from([1, 5, 1000]),
)
def test_p_median_lagrangian_matches_direct_milp(seed, k, e, steps):
    # few subgradient steps leave the proof to the MILP on the candidates left
    d, pop, ex, cand = _instance(seed, n=150, e=e, c=30)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(median, "LAGRANGE_ITERATIONS", steps)
        res = solve_p_median(d, pop, ex, cand, k)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(_direct_milp(d, pop, ex, cand, k), rel=1e-9)
    assert res.bound == pytest.approx(res.objective, rel=1e-9)
    assert len(res.selected) <= k


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 6))
def test_interchange_never_worse_than_greedy(seed, k):
    d, pop, ex, cand = _instance(seed, n=120, e=2, c=25)
    live = pop > 0
    dl, w = d[live], pop[live]
    d_exist = median._nearest(dl, ex)
    pi, pj, pd = median._median_pairs(dl, cand, d_exist, k)
    greedy = median._greedy_median(w, d_exist, pi, pj, pd, k)
    sel, dist = median._interchange(
        w, dl, ex, cand, pi, pj, pd, greedy, deadline=time.perf_counter() + 30
    )
    assert len(sel) == len(greedy) and len(np.unique(sel)) == len(sel)
    np.testing.assert_allclose(dist, median._open_distance(dl, ex, cand, sel))
    before = float(w @ median._open_distance(dl, ex, cand, greedy))
    assert float(w @ dist) <= before * (1 + 1e-12)


def test_p_median_time_limit_returns_a_valid_gap(monkeypatch):
    d, pop, ex, cand = _instance(7, n=1500, e=20, c=150)
    full = solve_p_median(d, pop, ex, cand, 10)
    assert full.status == "optimal"
    monkeypatch.setattr(median, "LAGRANGE_ITERATIONS", 1)
    res = solve_p_median(d, pop, ex, cand, 10, time_limit_s=0.0)
    assert res.status in {"optimal", "feasible"}
    assert res.bound <= full.objective * (1 + 1e-9)
    assert res.objective >= full.objective * (1 - 1e-9)
    assert res.gap == pytest.approx((res.objective - res.bound) / res.objective)
    if res.status == "feasible":
        assert "time limit" in res.detail and "proven gap" in res.detail
