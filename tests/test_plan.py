"""Tests of the siting optimiser against brute-force enumeration."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse

from coverage.errors import InputError
from coverage.plan import (
    PlanTarget,
    build_coverage_matrix,
    covered_by,
    load_instance,
    parse_target,
    plan_new_sites,
    solve_commune_rule,
    solve_lscp,
    solve_mclp,
)

MAKE_INSTANCE = Path("/work/shared/bench/make_instance.py")


# ----------------------------------------------------------------- brute force


def _dense(cover: sparse.spmatrix) -> np.ndarray:
    return np.asarray(sparse.csr_matrix(cover).toarray(), dtype=bool)


def _value(a: np.ndarray, w: np.ndarray, cols: tuple[int, ...]) -> float:
    if not cols:
        return 0.0
    return float(w[a[:, list(cols)].any(axis=1)].sum())


def brute_mclp(a: np.ndarray, w: np.ndarray, p: int, covered=None) -> float:
    w = w.astype(float).copy()
    if covered is not None:
        w[covered] = 0.0
    n = a.shape[1]
    return max(_value(a, w, c) for c in itertools.combinations(range(n), min(p, n)))


def brute_lscp(a: np.ndarray, w: np.ndarray, need: float) -> int | None:
    for k in range(a.shape[1] + 1):
        for c in itertools.combinations(range(a.shape[1]), k):
            if _value(a, w, c) >= need - 1e-9:
                return k
    return None


def random_instance(seed: int, n_demand: int = 30, n_sites: int = 8, size=10_000.0):
    rng = np.random.default_rng(seed)
    dxy = rng.uniform(0, size, (n_demand, 2))
    sxy = rng.uniform(0, size, (n_sites, 2))
    pop = rng.integers(0, 500, n_demand).astype(float)
    return dxy, sxy, pop


def _assert_valid(res, a, w, p=None, covered=None):
    """The reported objective matches the selection and respects p."""
    w = w.astype(float).copy()
    if covered is not None:
        w[covered] = 0.0
    sel = tuple(int(j) for j in res.selected)
    assert len(set(sel)) == len(sel)
    if p is not None:
        assert len(sel) <= p
    assert res.newly_covered_pop == pytest.approx(_value(a, w, sel))
    assert np.cumsum(res.marginal_gain)[-1:] == pytest.approx([res.newly_covered_pop])
    assert np.all(np.diff(res.marginal_gain) <= 1e-9)  # rank order: gains decrease


# ----------------------------------------------------------------- coverage matrix


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_d=st.integers(0, 40),
    n_s=st.integers(0, 12),
    radius=st.floats(100.0, 6000.0),
)
def test_coverage_matrix_equals_brute_force_distances(seed, n_d, n_s, radius):
    rng = np.random.default_rng(seed)
    dxy = rng.uniform(0, 10_000, (n_d, 2))
    sxy = rng.uniform(0, 10_000, (n_s, 2))
    got = _dense(build_coverage_matrix(dxy, sxy, radius))
    dist = np.hypot(
        dxy[:, None, 0] - sxy[None, :, 0], dxy[:, None, 1] - sxy[None, :, 1]
    )
    assert got.shape == (n_d, n_s)
    np.testing.assert_array_equal(got, dist <= radius)
    np.testing.assert_array_equal(covered_by(dxy, sxy, radius), (dist <= radius).any(1))


def test_coverage_radius_is_inclusive_and_zero_distance_counts():
    dxy = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 4.1]])
    sxy = np.array([[0.0, 0.0]])
    got = _dense(build_coverage_matrix(dxy, sxy, 5.0))[:, 0]
    assert got.tolist() == [True, True, False]


def test_coverage_matrix_rejects_bad_input():
    with pytest.raises(InputError):
        build_coverage_matrix(np.zeros((3, 3)), np.zeros((2, 2)), 10.0)
    with pytest.raises(InputError):
        build_coverage_matrix(np.zeros((3, 2)), np.zeros((2, 2)), 0.0)


# ----------------------------------------------------------------- MCLP


@pytest.mark.parametrize("seed", range(25))
def test_mclp_exact_matches_enumeration_and_greedy_is_honest(seed):
    dxy, sxy, pop = random_instance(seed)
    exy = np.random.default_rng(seed + 1000).uniform(0, 10_000, (2, 2))
    radius = 2500.0
    cover = build_coverage_matrix(dxy, sxy, radius)
    covered = covered_by(dxy, exy, radius)
    a = _dense(cover)
    best = brute_mclp(a, pop, 3, covered)

    exact = solve_mclp(cover, pop, 3, covered=covered, method="exact")
    greedy = solve_mclp(cover, pop, 3, covered=covered, method="greedy")
    _assert_valid(exact, a, pop, 3, covered)
    _assert_valid(greedy, a, pop, 3, covered)
    assert exact.status == "optimal"
    assert exact.objective == pytest.approx(best)
    assert exact.bound >= best - 1e-6
    assert greedy.objective <= best + 1e-9
    # every reported bound is a true upper bound on the optimum
    assert greedy.bound >= best - 1e-6
    if greedy.objective < best - 1e-9:
        assert greedy.status != "optimal"
        assert greedy.gap > 0
    if greedy.status == "optimal":
        assert greedy.objective == pytest.approx(best)


def test_greedy_trap_is_not_reported_optimal():
    # the classic trap: a central site covering half of each cluster (+ a little)
    # looks best alone, but the two cluster sites together are better
    w = np.array([5.0, 5.0, 5.0, 5.0, 2.0])
    a = np.array(
        [
            # central, left, right
            [0, 1, 0],  # L1
            [1, 1, 0],  # L2
            [1, 0, 1],  # R1
            [0, 0, 1],  # R2
            [1, 0, 0],  # M
        ],
        dtype=bool,
    )
    cover = sparse.csr_matrix(a)
    greedy = solve_mclp(cover, w, 2, method="greedy")
    exact = solve_mclp(cover, w, 2, method="exact")
    assert brute_mclp(a, w, 2) == 20.0
    assert exact.objective == 20.0 and exact.status == "optimal"
    assert sorted(exact.selected.tolist()) == [1, 2]
    assert greedy.selected[0] == 0  # took the bait
    assert greedy.objective == 17.0
    assert greedy.status == "greedy"
    assert greedy.bound >= 20.0
    assert greedy.gap == pytest.approx((greedy.bound - 17.0) / greedy.bound)
    auto = solve_mclp(cover, w, 2, method="auto")
    assert auto.objective == 20.0


def test_exact_rank_order_and_running_total():
    w = np.array([10.0, 1.0, 7.0, 3.0])
    a = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
    res = solve_mclp(sparse.csr_matrix(a), w, 3, method="exact")
    assert res.selected.tolist()[0] == 0
    assert res.running_total.tolist() == pytest.approx(np.cumsum(res.marginal_gain))
    assert res.running_total[-1] == pytest.approx(21.0)


def test_mclp_stops_when_nothing_more_to_cover():
    w = np.array([4.0, 6.0])
    a = np.array([[1, 1, 0], [0, 0, 0]], dtype=bool)
    res = solve_mclp(sparse.csr_matrix(a), w, 3, method="exact")
    assert len(res.selected) == 1
    assert res.objective == 4.0
    assert res.status == "optimal"
    assert res.uncoverable.tolist() == [1]
    assert res.uncoverable_pop == 6.0


@pytest.mark.parametrize("method", ["exact", "greedy"])
def test_existing_points_kept_and_never_listed(method):
    rng = np.random.default_rng(7)
    dxy = rng.uniform(0, 8000, (60, 2))
    pop = rng.integers(1, 300, 60).astype(float)
    exy = rng.uniform(0, 8000, (3, 2))
    # candidates 0-2 sit exactly on the existing points: they add nothing
    sxy = np.vstack([exy, rng.uniform(0, 8000, (5, 2))])
    res = plan_new_sites(dxy, pop, exy, sxy, radius_m=2000.0, add=3, method=method)
    covered = covered_by(dxy, exy, 2000.0)
    a = _dense(build_coverage_matrix(dxy, sxy, 2000.0))
    assert not set(res.selected.tolist()) & {0, 1, 2}
    assert res.stats["pop_existing_covered"] == pytest.approx(pop[covered].sum())
    _assert_valid(res, a, pop, 3, covered)
    best = brute_mclp(a, pop, 3, covered)
    assert res.objective <= best + 1e-9
    if method == "exact":
        assert res.objective == pytest.approx(best)
    # demand already covered contributes nothing even when a new site reaches it
    gains_if_counted = brute_mclp(a, pop, 3)
    assert gains_if_counted >= best


def test_plan_new_sites_needs_exactly_one_mode():
    z = np.zeros((1, 2))
    with pytest.raises(InputError):
        plan_new_sites(z, np.ones(1), z, z, radius_m=1.0)
    with pytest.raises(InputError):
        plan_new_sites(z, np.ones(1), z, z, radius_m=1.0, add=1, target="all")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), p=st.integers(0, 5))
def test_objective_non_decreasing_in_p(seed, p):
    dxy, sxy, pop = random_instance(seed, n_demand=40, n_sites=10)
    exy = dxy[:1]
    a = plan_new_sites(dxy, pop, exy, sxy, radius_m=2000.0, add=p, method="exact")
    b = plan_new_sites(dxy, pop, exy, sxy, radius_m=2000.0, add=p + 1, method="exact")
    assert b.objective >= a.objective - 1e-9


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), r=st.floats(500.0, 4000.0), dr=st.floats(0, 2000))
def test_total_coverage_non_decreasing_in_radius(seed, r, dr):
    dxy, sxy, pop = random_instance(seed, n_demand=40, n_sites=10)
    exy = dxy[:2]
    a = plan_new_sites(dxy, pop, exy, sxy, radius_m=r, add=2, method="exact")
    b = plan_new_sites(dxy, pop, exy, sxy, radius_m=r + dr, add=2, method="exact")
    total_a = a.objective + a.stats["pop_existing_covered"]
    total_b = b.objective + b.stats["pop_existing_covered"]
    assert total_b >= total_a - 1e-6
    # without existing points the newly covered population itself grows
    e = np.zeros((0, 2))
    a0 = plan_new_sites(dxy, pop, e, sxy, radius_m=r, add=2, method="exact")
    b0 = plan_new_sites(dxy, pop, e, sxy, radius_m=r + dr, add=2, method="exact")
    assert b0.objective >= a0.objective - 1e-6


def test_merging_identical_rows_keeps_the_optimum():
    # many demand rows with identical coverage sets and duplicate candidates
    rng = np.random.default_rng(3)
    base = rng.random((6, 7)) < 0.4
    a = np.repeat(base, 5, axis=0)
    a = np.hstack([a, a[:, :2]])  # duplicated columns 7, 8
    w = rng.integers(0, 50, len(a)).astype(float)
    res = solve_mclp(sparse.csr_matrix(a), w, 3, method="exact")
    assert res.stats["n_rows_merged"] <= 6
    assert res.objective == pytest.approx(brute_mclp(a, w, 3))
    _assert_valid(res, a, w, 3)


# ----------------------------------------------------------------- LSCP


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("method", ["exact", "greedy"])
def test_lscp_matches_enumeration(seed, method):
    dxy, sxy, pop = random_instance(seed, n_demand=25, n_sites=8)
    cover = build_coverage_matrix(dxy, sxy, 3000.0)
    a = _dense(cover)
    reach = a.any(axis=1) & (pop > 0)
    best = brute_lscp(a, np.where(reach, 1.0, 0.0), float(reach.sum()))
    res = solve_lscp(cover, weights=pop, method=method)
    sel = res.selected.tolist()
    assert a[:, sel].any(axis=1)[reach].all()  # every reachable populated row covered
    assert res.objective == len(sel)
    assert res.bound <= best
    if method == "exact":
        assert len(sel) == best
    assert len(sel) >= best
    if len(sel) > best:
        assert res.status not in {"optimal"}
    unreachable = np.flatnonzero(~a.any(axis=1) & (pop > 0))
    assert res.uncoverable.tolist() == unreachable.tolist()
    if len(unreachable):
        assert res.status == "infeasible"
        assert "infeasible" in res.detail
    elif method == "exact":
        assert res.status == "optimal"


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("share", [0.5, 0.8])
def test_lscp_share_target_matches_enumeration(seed, share):
    dxy, sxy, pop = random_instance(seed, n_demand=25, n_sites=8)
    exy = dxy[:1]
    cover = build_coverage_matrix(dxy, sxy, 3000.0)
    covered = covered_by(dxy, exy, 3000.0)
    a = _dense(cover)
    w_open = np.where(covered, 0.0, pop)
    need = share * pop.sum() - pop[covered].sum()
    best = brute_lscp(a, w_open, need)
    res = solve_lscp(
        cover, weights=pop, covered=covered, min_share=share, method="exact"
    )
    if best is None:
        assert res.status == "infeasible"
    else:
        assert res.status == "optimal"
        assert res.objective == best
        assert _value(a, w_open, tuple(res.selected.tolist())) >= need - 1e-6


def test_infeasible_target_names_unreachable_demand():
    dxy = np.array([[0.0, 0.0], [100.0, 0.0], [50_000.0, 0.0], [0.0, 300.0]])
    pop = np.array([10.0, 20.0, 30.0, 0.0])
    sxy = np.array([[50.0, 0.0], [10.0, 10.0]])
    for rule in ["all", "99%"]:
        res = plan_new_sites(
            dxy, pop, np.zeros((0, 2)), sxy, radius_m=500.0, target=rule, method="exact"
        )
        assert res.status == "infeasible"
        assert res.uncoverable.tolist() == [2]
        assert res.uncoverable_pop == 30.0
        assert res.objective == 1  # one site still covers all the reachable demand
        assert res.newly_covered_pop == 30.0


def test_share_target_already_met_needs_no_site():
    dxy = np.array([[0.0, 0.0], [9000.0, 0.0]])
    pop = np.array([90.0, 10.0])
    res = plan_new_sites(
        dxy, pop, dxy[:1], dxy[1:], radius_m=100.0, target="90%", method="exact"
    )
    assert res.objective == 0 and len(res.selected) == 0 and res.status == "optimal"


# ----------------------------------------------------------------- commune rule


def test_commune_rule_one_point_per_commune_without_one():
    cand_commune = np.array([0, 1, 1, 2, -1, 1])
    exist_commune = np.array([0, -1])
    cover = sparse.csr_matrix(
        np.array(
            [
                [0, 1, 0, 0, 0, 0],
                [0, 0, 0, 0, 0, 1],
                [0, 0, 0, 0, 0, 1],
                [0, 0, 0, 1, 0, 0],
            ],
            dtype=bool,
        )
    )
    pop = np.array([5.0, 6.0, 7.0, 1.0])
    res = solve_commune_rule(cand_commune, exist_commune, 4, cover=cover, weights=pop)
    assert sorted(res.selected.tolist()) == [3, 5]  # commune 1 gets its best site
    assert res.selected.tolist()[0] == 5
    assert res.uncoverable.tolist() == [3]  # commune 3 has no candidate
    assert res.status == "infeasible"
    assert res.objective == 2


def test_commune_rule_through_plan_new_sites():
    sxy = np.array([[0.0, 0.0], [5000.0, 0.0]])
    res = plan_new_sites(
        sxy,
        np.array([1.0, 1.0]),
        np.zeros((0, 2)),
        sxy,
        radius_m=100.0,
        target="communes",
        candidate_commune=np.array([0, 1]),
        existing_commune=np.zeros(0, int),
        n_communes=2,
    )
    assert sorted(res.selected.tolist()) == [0, 1] and res.status == "optimal"


# ----------------------------------------------------------------- targets


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("all", PlanTarget("all", 1.0)),
        ("95%", PlanTarget("share", 0.95)),
        ("share:0.9", PlanTarget("share", 0.9)),
        ("share:90", PlanTarget("share", 0.9)),
        ("communes", PlanTarget("communes", 1.0)),
    ],
)
def test_parse_target(rule, expected):
    got = parse_target(rule)
    assert got.kind == expected.kind
    assert math.isclose(got.min_share, expected.min_share)


@pytest.mark.parametrize("rule", ["most", "0%", "150%", ""])
def test_parse_target_rejects(rule):
    with pytest.raises(InputError):
        parse_target(rule)


# ----------------------------------------------------------------- bench instance


@pytest.fixture(scope="module")
def small_instance(tmp_path_factory):
    if not MAKE_INSTANCE.is_file():
        pytest.skip("the shared instance generator is not available")
    out = tmp_path_factory.mktemp("inst") / "small"
    subprocess.run(
        [sys.executable, str(MAKE_INSTANCE), "--size", "small", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return load_instance(out)


def test_small_instance_exact_vs_greedy(small_instance):
    inst = small_instance
    assert inst.demand_xy.shape == (inst.meta["n_demand"], 2)
    assert len(inst.candidate_xy) == inst.meta["n_candidates"]
    kw = {"radius_m": inst.radius_m, "add": inst.p}
    args = (inst.demand_xy, inst.demand_pop, inst.existing_xy, inst.candidate_xy)
    exact = plan_new_sites(*args, method="exact", **kw)
    greedy = plan_new_sites(*args, method="greedy", **kw)
    assert exact.status == "optimal"
    assert len(exact.selected) == inst.p
    assert greedy.objective <= exact.objective + 1e-6
    assert greedy.bound >= exact.objective * (1 - 1e-4)
    if greedy.objective < exact.objective * (1 - 1e-4):
        assert greedy.status != "optimal"
    a = _dense(build_coverage_matrix(inst.demand_xy, inst.candidate_xy, inst.radius_m))
    covered = covered_by(inst.demand_xy, inst.existing_xy, inst.radius_m)
    _assert_valid(exact, a, inst.demand_pop, inst.p, covered)


def test_load_instance_reports_missing_files(tmp_path):
    with pytest.raises(InputError):
        load_instance(tmp_path)


class _FakeMilpResult:
    def __init__(self, x, status, dual_bound):
        self.x = x
        self.status = status
        self.mip_dual_bound = dual_bound
        self.message = "time limit reached"


def test_time_limit_is_reported_with_an_honest_gap(monkeypatch):
    import coverage.plan as plan_mod

    w = np.array([5.0, 5.0, 5.0, 5.0, 2.0])
    a = np.array([[0, 1, 0], [1, 1, 0], [1, 0, 1], [0, 0, 1], [1, 0, 0]], dtype=bool)

    def fake_milp(c, **kwargs):
        n = len(c)
        x = np.zeros(n)
        x[0] = 1.0  # a poor incumbent: the central site alone
        return _FakeMilpResult(x, 1, -25.0)

    monkeypatch.setattr(plan_mod.solvers, "milp", fake_milp)
    # the LP's column generation is cut by the time limit before it proves anything
    monkeypatch.setattr(
        plan_mod.solvers,
        "_mclp_colgen",
        lambda *a, **k: plan_mod.solvers._ColGen(np.inf, None, True, 0),
    )
    res = solve_mclp(sparse.csr_matrix(a), w, 2, method="exact", time_limit_s=1.0)
    assert res.status == "feasible (time limit)"
    assert res.method == "exact"
    # the greedy incumbent (17) beats the MILP's (12) and is returned
    assert res.objective == 17.0
    assert res.bound >= 20.0
    assert res.gap == pytest.approx((res.bound - 17.0) / res.bound)
    assert res.gap > 0
    assert "time limit" in res.detail


def test_milp_without_incumbent_falls_back_to_greedy(monkeypatch):
    import coverage.plan as plan_mod

    monkeypatch.setattr(
        plan_mod.solvers, "milp", lambda c, **kw: _FakeMilpResult(None, 1, None)
    )
    dxy, sxy, pop = random_instance(11)
    cover = build_coverage_matrix(dxy, sxy, 2500.0)
    res = solve_mclp(cover, pop, 3, method="exact")
    best = brute_mclp(_dense(cover), pop, 3)
    assert 0 < res.objective <= best
    assert res.bound >= best - 1e-6
    assert res.status in {"optimal", "feasible (time limit)"}
    if res.objective < best:
        assert res.status != "optimal"


# ----------------------------------------------------------------- proofs, deadline


def _no_highs(monkeypatch):
    import coverage.plan.set_cover as set_cover
    import coverage.plan.solvers as solvers

    def fail(*args, **kwargs):
        raise AssertionError("HiGHS was called although the greedy is proven optimal")

    for module in (solvers, set_cover):
        monkeypatch.setattr(module, "milp", fail)
        monkeypatch.setattr(module, "linprog", fail)


def _trap():
    # the greedy takes the central site and stays 3 short of the optimum (20)
    w = np.array([5.0, 5.0, 5.0, 5.0, 2.0])
    a = np.array([[0, 1, 0], [1, 1, 0], [1, 0, 1], [0, 0, 1], [1, 0, 0]], dtype=bool)
    return sparse.csr_matrix(a), w


@pytest.mark.parametrize("method", ["exact", "greedy", "auto"])
def test_mclp_greedy_reaching_its_bound_skips_lp_and_milp(monkeypatch, method):
    _no_highs(monkeypatch)
    # disjoint sites: the two heaviest columns are the optimum and their sum bounds it
    w = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    a = np.array(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1]],
        dtype=bool,
    )
    res = solve_mclp(sparse.csr_matrix(a), w, 2, method=method)
    assert res.status == "optimal" and res.method == "greedy"
    assert res.objective == 9.0 == brute_mclp(a, w, 2)
    assert res.bound == 9.0 and res.gap == 0.0
    assert sorted(res.selected.tolist()) == [0, 1]


@pytest.mark.parametrize("method", ["exact", "greedy"])
def test_lscp_greedy_meeting_the_counting_bound_skips_lp_and_milp(monkeypatch, method):
    _no_highs(monkeypatch)
    a = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=bool)
    res = solve_lscp(sparse.csr_matrix(a), method=method)
    assert res.status == "optimal" and res.method == "greedy"
    assert res.objective == 3.0 == res.bound


def test_greedy_not_proven_still_calls_highs(monkeypatch):
    import coverage.plan.solvers as solvers

    calls = []
    for name in ("milp", "linprog"):
        real = getattr(solvers, name)
        monkeypatch.setattr(
            solvers,
            name,
            lambda *a, _real=real, _name=name, **kw: (
                calls.append(_name) or _real(*a, **kw)
            ),
        )
    cover, w = _trap()
    res = solve_mclp(cover, w, 2, method="exact")
    # the LP relaxation (column generation) proves the optimum: no MILP is needed
    assert calls and "milp" not in calls
    assert res.method == "exact" and res.status == "optimal" and res.objective == 20


@pytest.mark.parametrize("method", ["exact", "greedy"])
@pytest.mark.parametrize("problem", ["mclp", "lscp"])
def test_every_highs_call_gets_what_is_left_of_the_time_limit(
    monkeypatch, method, problem
):
    import time

    import coverage.plan.set_cover as set_cover
    import coverage.plan.solvers as solvers

    module = solvers if problem == "mclp" else set_cover
    seen = []
    t_start = time.perf_counter()
    for name in ("milp", "linprog"):
        real = getattr(module, name)

        def spy(*args, _real=real, **kwargs):
            seen.append((time.perf_counter() - t_start, kwargs["options"]))
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    limit = 5.0
    if problem == "mclp":
        cover, w = _trap()
        solve_mclp(cover, w, 2, method=method, time_limit_s=limit)
    else:
        dxy, sxy, pop = random_instance(3, n_demand=60, n_sites=12)
        cover = build_coverage_matrix(dxy, sxy, 2500.0)
        solve_lscp(cover, weights=pop, min_share=0.8, method=method, time_limit_s=limit)
    assert len(seen) == 1
    elapsed, options = seen[0]
    assert 0 < options["time_limit"] <= limit - elapsed


@pytest.mark.parametrize("method", ["exact", "greedy"])
def test_time_limit_spent_before_highs_is_reported(monkeypatch, method):
    _no_highs(monkeypatch)
    cover, w = _trap()
    res = solve_mclp(cover, w, 2, method=method, time_limit_s=1e-6)
    assert res.status == "feasible (time limit)" and res.method == "greedy"
    assert res.objective == 17.0 and res.gap > 0
    assert "time limit of 1e-06 s reached before the" in res.detail


def test_lscp_milp_time_limit_is_in_the_detail(monkeypatch):
    import coverage.plan.set_cover as set_cover

    monkeypatch.setattr(
        set_cover, "milp", lambda c, **kw: _FakeMilpResult(None, 1, None)
    )
    dxy, sxy, pop = random_instance(3, n_demand=60, n_sites=12)
    cover = build_coverage_matrix(dxy, sxy, 2500.0)
    res = solve_lscp(cover, weights=pop, min_share=0.8, method="exact")
    assert res.status == "feasible (time limit)" and res.method == "exact"
    assert res.detail.startswith("time limit of 60 s reached in the MILP; proven gap")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["exact", "greedy"])
def test_time_limit_bounds_the_whole_solve(method):
    import time

    rng = np.random.default_rng(7)
    dxy = rng.uniform(0, 20_000, (6000, 2))
    sxy = rng.uniform(0, 20_000, (600, 2))
    pop = rng.integers(1, 100, 6000).astype(float)
    cover = build_coverage_matrix(dxy, sxy, 1200.0)
    limit = 2.0
    t0 = time.perf_counter()
    res = solve_mclp(cover, pop, 40, method=method, time_limit_s=limit)
    assert time.perf_counter() - t0 <= 1.1 * limit
    assert res.status in {"feasible (time limit)", "greedy", "optimal"}
    if res.status != "optimal":
        assert res.gap > 0


# ----------------------------------------------------------------- layer adapter


def _base_layers():
    import geopandas as gpd
    import shapely

    step = 0.05
    boxes, codes = [], []
    for i in range(3):
        for j in range(2):
            x0, y0 = 105.3 + i * step, 20.8 + j * step
            boxes.append(shapely.box(x0, y0, x0 + step, y0 + step))
            codes.append(f"C{i}{j}")
    communes = gpd.GeoDataFrame(
        {
            "commune_code": codes,
            "commune_name": [f"Xã {c}" for c in codes],
            "population": np.array([1000, 800, 3000, 500, 1200, 0], dtype=np.int64),
        },
        geometry=boxes,
        crs="EPSG:4326",
    )
    points = gpd.GeoDataFrame(
        {"point_id": ["p1", "p2"]},
        geometry=[boxes[0].centroid, boxes[1].centroid],
        crs="EPSG:4326",
    )
    return communes, points


@pytest.fixture
def layers(monkeypatch):
    import coverage.plan as plan_mod
    from coverage.geo import metric_crs

    communes, points = _base_layers()
    crs = metric_crs(communes)
    minx, miny, maxx, maxy = communes.to_crs(crs).total_bounds
    gx, gy = np.meshgrid(
        np.arange(minx + 250, maxx, 500), np.arange(miny + 250, maxy, 500)
    )
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    pop = np.random.default_rng(1).integers(0, 40, len(xy)).astype(float)

    def fake_grid(communes_arg, cell_m, crs_arg):
        assert crs_arg == crs
        return SimpleNamespace(x_m=xy[:, 0], y_m=xy[:, 1], pop=pop, crs=crs)

    monkeypatch.setattr(plan_mod.sites, "_population_grid", fake_grid)
    return communes, points, xy, pop, crs


def test_plan_from_layers_add(layers):
    from coverage.plan import PROPOSED_COLUMNS, plan_from_layers

    communes, points, xy, pop, crs = layers
    res, proposed = plan_from_layers(
        communes, points, radius_km=2.0, add=3, cell_m=500.0, method="exact"
    )
    assert str(proposed.crs) == "EPSG:4326"
    assert list(proposed.columns[: len(PROPOSED_COLUMNS)]) == PROPOSED_COLUMNS
    assert proposed["rank"].tolist() == [1, 2, 3]
    assert (
        proposed["running_total_pop"].tolist()
        == np.cumsum(proposed["newly_covered_pop"]).tolist()
    )
    np.testing.assert_allclose(proposed["lat"], proposed.geometry.y)
    np.testing.assert_allclose(proposed["lon"], proposed.geometry.x)
    assert set(proposed["commune_code"]) <= set(communes["commune_code"])
    # same optimum as the array core on the same cells (candidates = populated cells)
    cand = xy[pop > 0]
    direct = plan_new_sites(
        xy,
        pop,
        points.to_crs(crs).get_coordinates().to_numpy(),
        cand,
        radius_m=2000.0,
        add=3,
        method="exact",
    )
    assert res.objective == pytest.approx(direct.objective)
    # the proposals are where the chosen candidate cells are
    back = proposed.to_crs(crs).get_coordinates().to_numpy()
    np.testing.assert_allclose(back, cand[direct.selected], atol=0.01)


def test_plan_from_layers_exclusion_and_communes_rule(layers):
    import geopandas as gpd

    from coverage.plan import plan_from_layers

    communes, points, *_ = layers
    excluded = gpd.GeoDataFrame(geometry=[communes.geometry[5]], crs="EPSG:4326")
    res, proposed = plan_from_layers(
        communes,
        points,
        radius_km=2.0,
        target="communes",
        cell_m=500.0,
        exclusion=excluded,
    )
    # C00 and C01 have points; C21 is excluded entirely, so it cannot get one
    assert sorted(proposed["commune_code"]) == ["C10", "C11", "C20"]
    assert res.status == "infeasible"
    assert "C21" in res.detail
    assert not proposed.geometry.within(excluded.geometry[0]).any()


@pytest.mark.parametrize("source", ["centres", "file"])
def test_plan_from_layers_candidate_sources(layers, source):
    import geopandas as gpd

    from coverage.plan import plan_from_layers

    communes, points, *_ = layers
    cands = None
    if source == "file":
        cands = gpd.GeoDataFrame(
            geometry=communes.geometry.representative_point().to_numpy()[2:],
            crs="EPSG:4326",
        )
    res, proposed = plan_from_layers(
        communes,
        points,
        cands,
        radius_km=2.0,
        add=2,
        candidate_source=source,
        cell_m=500.0,
    )
    assert len(proposed) == 2
    assert set(proposed["commune_code"]) <= {"C10", "C11", "C20", "C21"}
    assert res.objective == pytest.approx(proposed["newly_covered_pop"].sum(), abs=1)
    with pytest.raises(InputError):
        plan_from_layers(communes, points, radius_km=2.0, add=1, candidate_source="x")


def test_before_after(layers):
    from coverage.plan import before_after, plan_from_layers

    communes, points, *_ = layers
    _, proposed = plan_from_layers(communes, points, radius_km=2.0, add=3, cell_m=500.0)
    table, overall = before_after(
        communes, points, proposed, radius_km=2.0, cell_m=500.0
    )
    added = proposed["commune_code"].value_counts()
    expected = table["n_points_before"] + table["commune_code"].map(added).fillna(0)
    assert table["n_points_after"].tolist() == expected.astype(int).tolist()
    assert overall["n_points_after"] == overall["n_points_before"] + 3
    assert overall["share_within_after"] > overall["share_within_before"]
    assert overall["radius_km_after"] < overall["radius_km_before"]
    ok = table["n_points_before"] > 0
    assert (table.loc[ok, "radius_km_after"] <= table.loc[ok, "radius_km_before"]).all()
    assert table["radius_km_before"].isna().sum() == 4  # communes without a point


def test_thin_cells_keeps_most_populated_per_block():
    from coverage.plan import _thin_cells

    rng = np.random.default_rng(0)
    gx, gy = np.meshgrid(np.arange(100) * 250.0, np.arange(100) * 250.0)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    pop = rng.integers(0, 5, len(xy)).astype(float)
    kept = _thin_cells(xy, pop, 500, 250.0)
    assert 0 < len(kept) <= 500
    assert (pop[kept] > 0).all()
    assert len(np.unique(kept)) == len(kept)
    small = _thin_cells(xy[:50], pop[:50], 500, 250.0)
    assert small.tolist() == np.flatnonzero(pop[:50] > 0).tolist()


def test_plan_from_layers_names_communes_with_unreachable_people(layers):
    import geopandas as gpd

    from coverage.plan import plan_from_layers

    communes, points, *_ = layers
    cands = gpd.GeoDataFrame(
        geometry=[communes.geometry[2].centroid], crs="EPSG:4326"
    )  # a single candidate in C10
    res, proposed = plan_from_layers(
        communes,
        points,
        cands,
        radius_km=1.0,
        target="all",
        candidate_source="file",
        cell_m=500.0,
    )
    assert res.status == "infeasible"
    assert proposed["commune_code"].tolist() == ["C10"]
    assert proposed["commune_name"].tolist() == ["Xã C10"]
    by = res.stats["unreachable_pop_by_commune"]
    assert set(by) >= {"C11", "C20", "C21"}
    assert sum(by.values()) == pytest.approx(res.uncoverable_pop)
    assert "C21" in res.detail


def test_plan_from_layers_with_the_real_population_grid():
    access = pytest.importorskip("coverage.access")
    from coverage.plan import before_after, plan_from_layers

    communes, points = _base_layers()
    res, proposed = plan_from_layers(
        communes, points, radius_km=2.0, add=4, cell_m=500.0, method="exact"
    )
    surface = access.build_population_grid(communes, cell_m=500.0)
    assert res.status == "optimal"
    assert 0 < len(proposed) <= 4
    assert res.objective <= surface.pop.sum() + 1e-6
    # passing the surface explicitly gives the same plan
    res2, proposed2 = plan_from_layers(
        communes, points, radius_km=2.0, add=4, surface=surface, method="exact"
    )
    assert res2.objective == pytest.approx(res.objective)
    assert proposed2["commune_code"].tolist() == proposed["commune_code"].tolist()
    table, overall = before_after(
        communes, points, proposed, radius_km=2.0, surface=surface
    )
    assert overall["share_within_after"] - overall["share_within_before"] == (
        pytest.approx(res.objective / surface.pop.sum(), rel=1e-6)
    )
    assert table["n_points_after"].sum() == len(points) + len(proposed)


@pytest.mark.parametrize("seed", range(12))
def test_column_generation_from_few_sites_stays_exact(monkeypatch, seed):
    import coverage.plan.solvers as solvers

    monkeypatch.setattr(solvers, "COLGEN_FIRST_SITES", 1)
    dxy, sxy, pop = random_instance(seed, n_demand=120, n_sites=70)
    cover = build_coverage_matrix(dxy, sxy, 1500.0)
    res = solve_mclp(cover, pop, 2, method="exact")
    best = brute_mclp(_dense(cover), pop, 2)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(best, rel=1e-4)
    assert res.bound >= best * (1 - 1e-9)


def _grid_cells(seed: int, n: int = 60, cell_m: float = 500.0):
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(n) * cell_m, np.arange(n) * cell_m)
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + cell_m / 2
    pop = rng.pareto(1.5, len(xy)) * (rng.random(len(xy)) < 0.6)
    return xy, pop


@pytest.mark.parametrize("seed", range(4))
def test_candidate_cells_reach_every_populated_cell(seed):
    from coverage.plan.sites import _candidate_sites

    xy, pop = _grid_cells(seed)
    radius_m = 1200.0
    existing = xy[np.random.default_rng(seed).choice(len(xy), 5, replace=False)]
    cand_xy, _, n_cover = _candidate_sites(
        None,
        None,
        xy,
        pop,
        crs="EPSG:3857",
        candidate_source="cells",
        exclusion=None,
        max_candidates=20,
        cell_m=500.0,
        reach=lambda d, s: covered_by(d, s, radius_m),
        existing_xy=existing,
        block_m=radius_m * math.sqrt(2.0),
    )
    assert n_cover > 0 and len(cand_xy) <= 20 + n_cover
    sites = np.vstack([existing, cand_xy])
    assert covered_by(xy[pop > 0], sites, radius_m).all()
    # far fewer than one candidate per populated cell
    assert len(cand_xy) < 0.25 * (pop > 0).sum()


def test_reach_cover_leaves_only_cells_nobody_may_serve():
    from coverage.plan.sites import _reach_cover

    xy, pop = _grid_cells(7, n=30)
    allowed = xy[:, 0] > 3000.0  # the west is excluded, beyond reach of the east
    need = pop > 0
    chosen = _reach_cover(
        xy, need, allowed, block_m=1000.0, reach=lambda d, s: covered_by(d, s, 700.0)
    )
    assert allowed[chosen].all()
    reached = covered_by(xy, xy[chosen], 700.0)
    assert reached[need & (xy[:, 0] > 3000.0)].all()
    assert not reached[need & (xy[:, 0] < 2000.0)].any()


def test_plan_from_layers_full_target_is_feasible_with_few_candidates(layers):
    from coverage.plan import plan_from_layers

    communes, points = layers[:2]
    res, _ = plan_from_layers(
        communes, points, radius_km=0.8, target="all", cell_m=500.0, max_candidates=5
    )
    assert res.status != "infeasible" and res.uncoverable_pop == 0.0
    assert res.stats["n_candidates_for_reach"] > 0
    assert "so that every populated cell is within reach" in res.detail
