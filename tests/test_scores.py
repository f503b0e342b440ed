"""Tests of capacity load and floating-catchment scores (coverage.access.scores)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.spatial.distance import cdist

from coverage.access.scores import (
    LUO_QI_WEIGHTS,
    access_scores,
    aggregate_scores,
    capacity_load,
    enhanced_two_step_fca,
    neighbour_pairs,
    pairs_from_cost_matrix,
    step_weights,
    two_step_fca,
    zone_edges,
)
from coverage.errors import InputError

# three cells on a line and two points: hand-computable
CELLS = np.array([[0.0, 0.0], [1000.0, 0.0], [3000.0, 0.0]])
POP = np.array([100.0, 200.0, 300.0])
POINTS = np.array([[0.0, 0.0], [3000.0, 0.0]])
SUPPLY = np.array([1.0, 2.0])


def test_two_step_fca_by_hand():
    pairs = neighbour_pairs(CELLS, POINTS, max_distance_m=1500)
    res = two_step_fca(POP, SUPPLY, pairs, max_cost=1500)
    np.testing.assert_allclose(res.ratio, [1 / 300, 2 / 300])
    np.testing.assert_allclose(res.score, [1 / 300, 1 / 300, 2 / 300])
    assert not res.idle.any()
    assert not res.no_access.any()
    assert float(POP @ res.score) == pytest.approx(SUPPLY.sum())


def test_enhanced_two_step_fca_by_hand():
    # zones 0-1000, 1000-2000, 2000-3000 m with weights 1, 0.68, 0.22
    pairs = neighbour_pairs(CELLS, POINTS, max_distance_m=3000)
    res = enhanced_two_step_fca(POP, SUPPLY, pairs, thresholds=[3000])
    d0 = 100 + 200 + 300 * 0.22
    d1 = 100 * 0.22 + 200 * 0.68 + 300
    np.testing.assert_allclose(res.demand_in_reach, [d0, d1])
    r0, r1 = 1 / d0, 2 / d1
    np.testing.assert_allclose(
        res.score, [r0 + 0.22 * r1, r0 + 0.68 * r1, 0.22 * r0 + r1]
    )
    assert float(POP @ res.score) == pytest.approx(3.0)


def test_zone_edges_and_step_weights():
    np.testing.assert_allclose(zone_edges([30]), [10, 20, 30])
    np.testing.assert_allclose(zone_edges([5, 2, 10]), [2, 5, 10])
    w = step_weights(
        np.array([0, 10, 10.5, 20, 25, 30, 30.1]), [10, 20, 30], LUO_QI_WEIGHTS
    )
    np.testing.assert_allclose(w, [1, 1, 0.68, 0.68, 0.22, 0.22, 0])
    with pytest.raises(InputError):
        zone_edges([0])
    with pytest.raises(InputError):
        step_weights(np.zeros(2), [1, 2], [1.0])


def test_idle_point_and_cell_without_access():
    cells = np.array([[0.0, 0.0], [10_000.0, 0.0]])
    pts = np.array([[0.0, 0.0], [50_000.0, 0.0]])
    pairs = neighbour_pairs(cells, pts, max_distance_m=2000)
    res = two_step_fca(
        np.array([10.0, 5.0]), np.array([1.0, 1.0]), pairs, max_cost=2000
    )
    np.testing.assert_array_equal(res.idle, [False, True])
    np.testing.assert_array_equal(res.no_access, [False, True])
    np.testing.assert_allclose(res.score, [0.1, 0.0])
    assert res.ratio[1] == 0.0


def test_cost_matrix_equals_coordinates_and_keeps_zero_costs():
    d = cdist(CELLS, POINTS)
    rows, cols = np.nonzero(d <= 3000)
    # explicit zeros must survive: a cell centre on a point costs 0
    cost = sparse.csr_matrix((d[rows, cols], (rows, cols)), shape=d.shape)
    assert cost.nnz == len(rows)
    pairs = pairs_from_cost_matrix(cost, max_cost=3000)
    assert len(pairs) == len(rows)
    a = enhanced_two_step_fca(POP, SUPPLY, pairs, thresholds=[3000])
    b, _ = access_scores(
        POP,
        SUPPLY,
        thresholds=[3000],
        demand_xy=CELLS,
        supply_xy=POINTS,
    )
    np.testing.assert_allclose(a.score, b.score, rtol=1e-12)
    with pytest.raises(InputError):
        pairs_from_cost_matrix(d)


def test_access_scores_validates_its_inputs():
    with pytest.raises(InputError):
        access_scores(POP, SUPPLY, thresholds=[1000])
    with pytest.raises(InputError):
        access_scores(
            POP,
            SUPPLY,
            method="3sfca",
            thresholds=[1000],
            demand_xy=CELLS,
            supply_xy=POINTS,
        )
    with pytest.raises(InputError):
        neighbour_pairs(CELLS, POINTS, max_distance_m=-1)
    with pytest.raises(InputError):
        two_step_fca(
            -POP, SUPPLY, neighbour_pairs(CELLS, POINTS, max_distance_m=1), max_cost=1
        )


def test_capacity_load_by_hand():
    res = capacity_load(CELLS, POP, POINTS, np.array([250.0, 400.0]))
    np.testing.assert_allclose(res.pop_served, [300, 300])
    np.testing.assert_allclose(res.load, [1.2, 0.75])
    np.testing.assert_array_equal(res.overloaded, [True, False])
    np.testing.assert_array_equal(res.nearest_idx, [0, 0, 1])
    zero = capacity_load(CELLS, POP, POINTS, np.array([0.0, 400.0]))
    assert np.isinf(zero.load[0]) and zero.overloaded[0]
    with pytest.raises(InputError):
        capacity_load(CELLS, POP, POINTS, np.array([1.0]))


def test_aggregate_scores_by_commune():
    score = np.array([1.0, 4.0, 2.0])
    res = aggregate_scores(score, POP, np.array(["b", "b", "a"]))
    np.testing.assert_array_equal(res.labels, ["a", "b"])
    area = (100 + 800 + 600) / 600
    assert res.area_mean == pytest.approx(area)
    np.testing.assert_allclose(res.score, [2.0, 900 / 300])
    np.testing.assert_allclose(res.ratio_to_mean, [2.0 / area, 3.0 / area])
    frame = res.to_frame()
    assert list(frame.columns) == [
        "group",
        "population",
        "access_score",
        "access_score_ratio",
    ]
    empty = aggregate_scores(
        score, np.array([0.0, 0.0, 5.0]), np.array(["b", "b", "a"])
    )
    assert np.isnan(empty.score[1])
    _, table = access_scores(
        POP,
        SUPPLY,
        thresholds=[3000],
        demand_xy=CELLS,
        supply_xy=POINTS,
        groups=np.array(["x", "x", "y"]),
    )
    assert table is not None
    assert float(table.population @ table.score) == pytest.approx(3.0)


coords = st.lists(
    st.tuples(st.floats(0, 20_000), st.floats(0, 20_000)), min_size=1, max_size=25
)


@settings(max_examples=60, deadline=None)
@given(
    cells=coords,
    points=coords,
    seed=st.integers(0, 2**16),
    d0=st.floats(500, 15_000),
    enhanced=st.booleans(),
)
def test_scores_nonnegative_and_supply_conserved(cells, points, seed, d0, enhanced):
    rng = np.random.default_rng(seed)
    cxy, pxy = np.array(cells), np.array(points)
    pop = rng.integers(1, 1000, len(cxy)).astype(float)
    supply = rng.integers(0, 5, len(pxy)).astype(float)
    pairs = neighbour_pairs(cxy, pxy, max_distance_m=d0)
    if enhanced:
        res = enhanced_two_step_fca(pop, supply, pairs, thresholds=[d0])
    else:
        res = two_step_fca(pop, supply, pairs, max_cost=d0)
    assert np.all(res.score >= 0)
    assert np.all(res.ratio >= 0)
    served = supply[~res.idle].sum()
    assert float(pop @ res.score) == pytest.approx(served, rel=1e-9, abs=1e-12)


# ------------------------------------------------------------------------ peers


def test_e2sfca_equals_pysal_access():
    access = pytest.importorskip(
        "access", reason="PySAL access not installed (pip install -e '.[peers]')"
    )
    rng = np.random.default_rng(7)
    cells = rng.uniform(0, 12_000, (60, 2))
    pts = rng.uniform(0, 12_000, (8, 2))
    pop = rng.integers(1, 2000, len(cells)).astype(float)
    supply = rng.integers(1, 6, len(pts)).astype(float)
    d0 = 6000.0
    ours = enhanced_two_step_fca(
        pop, supply, neighbour_pairs(cells, pts, max_distance_m=d0), thresholds=[d0]
    )
    d = cdist(cells, pts)
    i, j = np.nonzero(d <= d0)
    # access 1.1 uses pandas' deprecated inplace set_index
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = access.Access(
            demand_df=pd.DataFrame({"geoid": np.arange(len(cells)), "pop": pop}),
            demand_index="geoid",
            demand_value="pop",
            supply_df=pd.DataFrame({"geoid": np.arange(len(pts)), "s": supply}),
            supply_index="geoid",
            supply_value="s",
            cost_df=pd.DataFrame({"origin": i, "dest": j, "cost": d[i, j]}),
            cost_origin="origin",
            cost_dest="dest",
            cost_name="cost",
        )
        step = access.weights.step_fn(
            dict(zip(zone_edges([d0]).tolist(), LUO_QI_WEIGHTS, strict=True))
        )
        theirs = model.enhanced_two_stage_fca(weight_fn=step).iloc[:, 0]
    theirs = theirs.reindex(np.arange(len(cells))).fillna(0.0).to_numpy()
    assert (theirs > 0).sum() > len(cells) // 2
    np.testing.assert_allclose(ours.score, theirs, rtol=1e-9, atol=0)
