"""Distance-based access: analytic cases, invariances and cross-checks."""

from __future__ import annotations

import math
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point, Polygon, box

from coverage.access import (
    FOOTPRINT_COMMUNE,
    _grid_runs_parts,
    _group_order,
    _zone_parts,
    _zone_parts_overlay,
    aggregate_access,
    build_population_grid,
    compute_access,
    evaluate_distance_rules,
    nearest_distance_m,
    point_catchments,
    population_from_raster,
    population_from_settlements,
    share_within,
    threshold_label,
    uncovered_zones,
    weighted_quantile,
)
from coverage.benchmarks import DistanceRule, load_benchmark
from coverage.errors import InputError

UTM = "EPSG:32648"
X0, Y0 = 600_000.0, 2_300_000.0  # UTM 48N, near Hoa Binh


def communes_gdf(geoms, pops, *, codes=None, districts=None, crs=UTM):
    n = len(geoms)
    data = {
        "commune_code": codes or [f"C{i:02d}" for i in range(n)],
        "population": np.asarray(pops, dtype=np.int64),
    }
    if districts is not None:
        data["district_name"] = districts
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=crs)


def points_gdf(xy, crs=UTM):
    xy = np.asarray(xy, float).reshape(-1, 2)
    return gpd.GeoDataFrame(
        {"point_id": [f"P{i}" for i in range(len(xy))]},
        geometry=list(shapely.points(xy)),
        crs=crs,
    )


@pytest.fixture(scope="module")
def disk():
    radius = 10_000.0
    centre = Point(X0, Y0)
    communes = communes_gdf([centre.buffer(radius, quad_segs=128)], [100_000])
    points = points_gdf([[X0, Y0]])
    return communes, points, radius


@pytest.fixture(scope="module")
def province():
    """Two districts, four irregular communes, five points, one far corner."""
    rng = np.random.default_rng(7)
    outer = Polygon(
        [(0, 0), (30_000, 0), (32_000, 18_000), (15_000, 26_000), (-2_000, 20_000)]
    )
    cuts = [box(-5e3, -5e3, 14e3, 12e3), box(14e3, -5e3, 40e3, 12e3)]
    cuts += [box(-5e3, 12e3, 14e3, 40e3), box(14e3, 12e3, 40e3, 40e3)]
    geoms = [shapely.affinity.translate(outer.intersection(c), X0, Y0) for c in cuts]
    pts = rng.uniform([0, 0], [20_000, 15_000], size=(5, 2)) + np.array([X0, Y0])
    communes = communes_gdf(
        geoms,
        [12_345, 40_001, 3_333, 25_000],
        districts=["Huyện A", "Huyện A", "Huyện B", "Huyện B"],
    )
    return communes, points_gdf(pts)


# ------------------------------------------------------------------ analytic disk


def test_disk_share_is_r_squared(disk):
    communes, points, radius = disk
    cell = 100.0
    thresholds = (1.0, 2.0, 3.0, 5.0, 8.0)
    res = compute_access(communes, points, thresholds_km=thresholds, cell_m=cell)
    row = res.communes.iloc[0]
    # Cells counted within r have centres in the disk of radius r, so their union
    # lies in the disk r + h and covers the disk r - h, h = half the cell diagonal;
    # the same holds for the commune (R = 10 km). Hence the rigorous bounds below.
    h = cell / math.sqrt(2)
    for t in thresholds:
        r = t * 1000.0
        share = row[f"share_within_{threshold_label(t)}"]
        lo = ((r - h) / (radius + h)) ** 2
        hi = ((r + h) / (radius - h)) ** 2
        assert lo <= share <= hi, (t, share, (t / 10) ** 2)
        # the discretisation error is far below the worst case
        assert share == pytest.approx((t / 10) ** 2, abs=0.003)
    # uniform disk around its centre: mean 2R/3, p90 R*sqrt(0.9), max just under R
    assert row["mean_distance_km"] == pytest.approx(2 * radius / 3 / 1000, abs=h / 1e3)
    assert row["p90_distance_km"] == pytest.approx(
        radius * math.sqrt(0.9) / 1000, abs=h / 1e3
    )
    assert radius - h <= row["max_distance_km"] * 1000 <= radius
    assert row["pop_surface"] == 100_000


def test_disk_rules_and_margins(disk):
    communes, points, _ = disk
    res = compute_access(communes, points, thresholds_km=(5,), cell_m=200.0)
    table = evaluate_distance_rules(res, load_benchmark("nl-5km"))
    assert len(table) == 1
    share = res.communes.loc[0, "share_within_5km"]
    assert table.loc[0, "share"] == pytest.approx(share)
    assert table.loc[0, "margin"] == pytest.approx(share - 0.95)
    assert not table.loc[0, "passes"]
    rules = [DistanceRule(9.9, 0.9), DistanceRule(5.0, 0.2), DistanceRule(5.0, 0.3)]
    table = evaluate_distance_rules(res, rules)
    assert table["passes"].tolist() == [True, True, False]
    np.testing.assert_allclose(table["margin"], table["share"] - table["min_share"])


# ------------------------------------------------------------------ invariances


def test_translation_invariance(province):
    communes, points = province
    shift = (12_345.6, -7_890.1)
    moved_c = communes.copy()
    moved_c["geometry"] = communes.geometry.translate(*shift)
    moved_p = points.copy()
    moved_p["geometry"] = points.geometry.translate(*shift)
    a = compute_access(communes, points, thresholds_km=(2, 3, 5), cell_m=250.0)
    b = compute_access(moved_c, moved_p, thresholds_km=(2, 3, 5), cell_m=250.0)
    cols = [c for c in a.communes.columns if not c.startswith(("farthest", "commune"))]
    pd.testing.assert_frame_equal(
        a.communes[cols], b.communes[cols], check_exact=False, rtol=1e-9
    )
    np.testing.assert_allclose(a.dist_m, b.dist_m, atol=1e-6)
    np.testing.assert_allclose(a.surface.x_m + shift[0], b.surface.x_m)


def test_lonlat_input_equals_utm_input(province):
    communes, points = province
    cell = 250.0
    utm = compute_access(communes, points, thresholds_km=(2, 5), cell_m=cell)
    lonlat = compute_access(
        communes.to_crs(4326), points.to_crs(4326), thresholds_km=(2, 5), cell_m=cell
    )
    for col in ("mean_distance_km", "p90_distance_km", "max_distance_km"):
        np.testing.assert_allclose(lonlat.communes[col], utm.communes[col], rtol=0.005)
    for col in ("share_within_2km", "share_within_5km"):
        np.testing.assert_allclose(lonlat.communes[col], utm.communes[col], atol=0.005)
    # independent check on the ellipsoid: the farthest location's geodesic distance
    # to the nearest point equals the reported maximum (no degree arithmetic)
    geod = Geod(ellps="WGS84")
    plon = points.to_crs(4326).geometry.x.to_numpy()
    plat = points.to_crs(4326).geometry.y.to_numpy()
    for _, row in lonlat.communes.iterrows():
        n = len(plon)
        _, _, d = geod.inv(
            np.full(n, row["farthest_lon"]), np.full(n, row["farthest_lat"]), plon, plat
        )
        assert d.min() / 1000 == pytest.approx(row["max_distance_km"], rel=0.005)


# ------------------------------------------------------------------ monotonicity


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pts=st.lists(
        st.tuples(st.floats(-5_000, 25_000), st.floats(-5_000, 25_000)),
        min_size=1,
        max_size=6,
    ),
    thresholds=st.lists(st.floats(0.1, 40.0), min_size=2, max_size=6, unique=True),
)
def test_share_monotone_in_threshold(pts, thresholds):
    communes = communes_gdf(
        [box(X0, Y0, X0 + 12e3, Y0 + 20e3), box(X0 + 12e3, Y0, X0 + 20e3, Y0 + 20e3)],
        [5_000, 777],
        districts=["D", "D"],
    )
    points = points_gdf(np.asarray(pts) + np.array([X0, Y0]))
    labels = {threshold_label(t) for t in thresholds}
    # thresholds equal to 6 decimals share a column label: one column, not two
    assume(len(labels) == len(thresholds))
    res = compute_access(communes, points, thresholds_km=thresholds, cell_m=1000.0)
    tables = [res.communes, res.aggregate("district_name"), res.aggregate(None)]
    for table in tables:
        shares = np.column_stack(
            [table[f"share_within_{threshold_label(t)}"] for t in sorted(thresholds)]
        )
        assert np.all(np.diff(shares, axis=1) >= 0)
        assert np.all((shares >= 0) & (shares <= 1))


@settings(max_examples=50, deadline=None)
@given(
    data=st.lists(
        # weights are people per cell: zero or at least a thousandth of a person
        st.tuples(st.floats(0, 1e5), st.one_of(st.just(0.0), st.floats(1e-3, 1e4))),
        min_size=1,
        max_size=200,
    ),
    q=st.floats(0, 1),
)
def test_weighted_quantile_and_share_match_brute_force(data, q):
    d = np.array([x[0] for x in data])
    w = np.array([x[1] for x in data])
    got = weighted_quantile(d, w, q)[0]
    pos = w > 0
    if not pos.any():
        assert np.isnan(got)
    assume(pos.any())
    dv, wv = d[pos], w[pos]
    order = np.argsort(dv, kind="stable")
    cum = np.cumsum(wv[order])
    i = np.flatnonzero(cum >= q * cum[-1] * (1 - 1e-12))[0]
    assert got == dv[order][i]
    thresholds = np.sort(np.unique(d))[:5]
    within, share = share_within(d, w, thresholds)
    brute = np.array([w[d <= t].sum() for t in thresholds])
    np.testing.assert_allclose(within, brute, rtol=1e-9)
    assert np.all(np.diff(share) >= 0)


# ------------------------------------------------------------------ buffer union


def test_grid_agrees_with_buffer_union(province):
    communes, points = province
    cell = 100.0
    thresholds = (2.0, 3.0, 5.0)
    res = compute_access(communes, points, thresholds_km=thresholds, cell_m=cell)
    geoms = communes.geometry.to_numpy()
    h = cell / math.sqrt(2)
    overall_pop = 0.0
    overall_expected = dict.fromkeys(thresholds, 0.0)
    for t in thresholds:
        r = t * 1000.0
        union = shapely.union_all(points.geometry.buffer(r, quad_segs=64).to_numpy())
        for i, geom in enumerate(geoms):
            inside = geom.intersection(union)
            expected = inside.area / geom.area
            # a misclassified cell straddles the boundary of (commune ∩ union) or of
            # the commune: it lies in a band of half-width h around it, whose area
            # is at most 2h*perimeter + 4πh² (plus the buffer's chord error).
            sag = r * (1 - math.cos(math.pi / 256))
            band_a = 2 * h * inside.length + 4 * math.pi * h * h + sag * inside.length
            band_c = 2 * h * geom.length + 4 * math.pi * h * h
            lo = max(inside.area - band_a, 0) / (geom.area + band_c)
            hi = (inside.area + band_a) / (geom.area - band_c)
            got = res.communes.loc[i, f"share_within_{threshold_label(t)}"]
            assert lo <= got <= hi, (i, t, got, expected)
            assert got == pytest.approx(expected, abs=0.01)
            overall_expected[t] += expected * communes.population[i]
    overall_pop = communes.population.sum()
    total = res.aggregate(None).iloc[0]
    for t in thresholds:
        got = total[f"share_within_{threshold_label(t)}"]
        assert got == pytest.approx(overall_expected[t] / overall_pop, abs=0.01)


# ------------------------------------------------------------------ totals


def test_totals_preserved_exactly_with_tiny_commune():
    big = box(0, 0, 10_000, 10_000)
    # 50 m square between cell centres (125 + 250k): holds no centre at 250 m
    tiny = box(5_130, 5_130, 5_180, 5_180)
    odd = box(10_000, 0, 13_337, 7_777)
    geoms = [
        shapely.affinity.translate(g, X0, Y0) for g in (big.difference(tiny), tiny, odd)
    ]
    pops = [1_000_003, 7, 123_457]
    communes = communes_gdf(geoms, pops)
    surface = build_population_grid(communes, cell_m=250.0)
    per = np.bincount(surface.commune, weights=surface.pop, minlength=3)
    assert per.tolist() == [float(p) for p in pops]
    assert surface.pop.sum() == float(sum(pops))
    tiny_loc = np.flatnonzero(surface.commune == 1)
    assert len(tiny_loc) == 1 and surface.footprint[tiny_loc[0]] == 1
    assert geoms[1].contains(Point(surface.x_m[tiny_loc[0]], surface.y_m[tiny_loc[0]]))
    # uniform elsewhere: every cell of a commune carries the same population,
    # up to the 2**-20 quantum (the remainder sits on one cell)
    big_pop = surface.pop[surface.commune == 0]
    assert np.ptp(big_pop) < 1e-3
    res = compute_access(communes, points_gdf([[X0, Y0]]), surface=surface)
    assert res.communes["pop_surface"].tolist() == [float(p) for p in pops]


def test_degenerate_geometries_report_unplaced_population():
    geoms = [
        box(X0, Y0, X0 + 5_000, Y0 + 5_000),
        Polygon(),
        None,
        box(X0 + 5_000, Y0, X0 + 8_000, Y0 + 5_000),
    ]
    communes = communes_gdf(geoms, [10_000, 2_500, 400, 0], districts=list("AABB"))
    res = compute_access(communes, points_gdf([[X0 + 1, Y0 + 1]]), cell_m=500.0)
    c = res.communes
    assert c["pop_unplaced"].tolist() == [0, 2_500, 400, 0]
    assert c["pop_surface"].tolist() == [10_000, 0, 0, 0]
    assert c.loc[1:, "mean_distance_km"].isna().all()
    assert c.loc[1:, "share_within_2km"].isna().all()
    assert c.loc[0, "share_within_2km"] > 0
    assert any("C01" in n and "C02" in n for n in res.notes)
    by_district = res.aggregate("district_name").set_index("district_name")
    assert by_district.loc["A", "pop_unplaced"] == 2_500
    assert by_district.loc["B", "pop_unplaced"] == 400
    assert np.isnan(by_district.loc["B", "share_within_5km"])
    overall = res.aggregate(None).iloc[0]
    assert overall["pop_surface"] + overall["pop_unplaced"] == communes.population.sum()


def test_no_points():
    communes = communes_gdf([box(X0, Y0, X0 + 3_000, Y0 + 3_000)], [900])
    empty = points_gdf(np.empty((0, 2)))
    with pytest.raises(InputError, match="no point"):
        compute_access(communes, empty)
    with pytest.raises(InputError, match="no point"):
        compute_access(communes, gpd.GeoDataFrame(geometry=[None], crs=UTM))
    d, i = nearest_distance_m(np.zeros((3, 2)), np.empty((0, 2)))
    assert np.isinf(d).all() and (i == -1).all()
    table = aggregate_access(d, [1, 2, 3], ["a", "a", "b"], thresholds_km=[5])
    assert table["share_within_5km"].tolist() == [0.0, 0.0]
    assert table["mean_distance_km"].isna().all()


def test_thresholds_and_labels():
    assert threshold_label(2) == "2km"
    assert threshold_label(4.83) == "4.83km"
    assert threshold_label(0.5) == "0.5km"
    assert threshold_label(10.0) == "10km"
    communes = communes_gdf([box(X0, Y0, X0 + 3_000, Y0 + 3_000)], [900])
    res = compute_access(communes, points_gdf([[X0, Y0]]), thresholds_km=(4.83, 1.61))
    assert "share_within_1.61km" in res.communes
    assert "pop_within_4.83km" in res.communes
    with pytest.raises(InputError):
        compute_access(communes, points_gdf([[X0, Y0]]), thresholds_km=(0,))


def test_district_p90_comes_from_cells(province):
    communes, points = province
    res = compute_access(communes, points, cell_m=500.0)
    by = res.aggregate("district_name").set_index("district_name")
    s = res.surface
    district = communes["district_name"].to_numpy()[s.commune]
    for name in ("Huyện A", "Huyện B"):
        m = district == name
        p90 = weighted_quantile(res.dist_m[m], s.pop[m], 0.9)[0] / 1000
        assert by.loc[name, "p90_distance_km"] == pytest.approx(p90)
        assert by.loc[name, "max_distance_km"] == pytest.approx(
            res.dist_m[m].max() / 1000
        )
        assert (
            by.loc[name, "pop_surface"]
            == communes.population[communes.district_name == name].sum()
        )


def test_aggregate_by_matches_aggregate_access_and_reuses_one_sort(province):
    communes, points = province
    res = compute_access(communes, points, thresholds_km=(2, 5), cell_m=250.0)
    s = res.surface
    order = res.dist_order
    assert res.dist_order is order
    np.testing.assert_array_equal(order, np.argsort(res.dist_m, kind="stable"))
    # composite keys, a NaN label, and a label whose communes have no cells
    labels = np.array(["P\x1fA", "P\x1fA", np.nan, "P\x1fB"], dtype=object)
    index = pd.Index(["P\x1fB", "P\x1fA", "empty", np.nan])
    expected = aggregate_access(
        res.dist_m,
        s.pop,
        labels[s.commune],
        thresholds_km=res.thresholds_km,
        x_m=s.x_m,
        y_m=s.y_m,
        crs=s.crs,
        index=index,
    )
    got = res.aggregate_by(labels, index=index)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.loc["empty", "pop_surface"] == 0
    assert got.loc["P\x1fB", "pop_surface"] == communes.population.iloc[3]
    with_order = aggregate_access(
        res.dist_m,
        s.pop,
        labels[s.commune],
        thresholds_km=res.thresholds_km,
        x_m=s.x_m,
        y_m=s.y_m,
        crs=s.crs,
        index=index,
        order=order,
    )
    pd.testing.assert_frame_equal(with_order, expected, check_exact=True)
    # default index: the sorted labels of the communes that have cells
    plain = res.aggregate_by(communes["district_name"].to_numpy())
    by = res.aggregate("district_name").set_index("district_name")
    assert plain.index.tolist() == sorted(by.index)
    pd.testing.assert_frame_equal(
        plain, by.drop(columns="pop_unplaced").loc[plain.index], check_names=False
    )
    with pytest.raises(InputError, match="one value per commune"):
        res.aggregate_by(labels[:2])
    with pytest.raises(InputError, match="not in the index"):
        res.aggregate_by(labels, index=["P\x1fA"])
    with pytest.raises(InputError, match="order"):
        aggregate_access(
            res.dist_m, s.pop, labels[s.commune], thresholds_km=[2], order=order[:-1]
        )


def test_aggregate_by_many_groups_uses_wide_codes():
    # more than 65,536 groups: the group sort takes two 16-bit passes
    rng = np.random.default_rng(3)
    n = 200_000
    d = rng.integers(0, 50, n).astype(float) * 100.0  # many ties
    w = rng.uniform(0, 3, n)
    w[rng.random(n) < 0.1] = 0.0
    g = rng.integers(0, 70_000, n)
    a = aggregate_access(d, w, g, thresholds_km=[1, 2])
    b = aggregate_access(
        d, w, g, thresholds_km=[1, 2], order=np.argsort(d, kind="stable")
    )
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    keep = w > 0
    ref = np.lexsort((d[keep], g[keep]))

    np.testing.assert_array_equal(_group_order(d[keep], g[keep]), ref)
    p90 = weighted_quantile(d, w, 0.9, g, n_groups=70_000)
    np.testing.assert_array_equal(
        a["p90_distance_km"].to_numpy(), p90[a.index.to_numpy(dtype=np.int64)] / 1000.0
    )


# ------------------------------------------------------------------ zones


def test_uncovered_zones_partition_population(province):
    communes, points = province
    res = compute_access(communes, points, thresholds_km=(3,), cell_m=250.0)
    zones = uncovered_zones(res.surface, res.dist_m, threshold_km=3)
    assert str(zones.crs) == "EPSG:4326"
    assert len(zones) >= 1
    covered = res.aggregate(None).loc[0, "pop_within_3km"]
    assert zones["population"].sum() + covered == res.surface.pop.sum()
    assert zones["rank"].tolist() == list(range(1, len(zones) + 1))
    assert np.all(np.diff(zones["population"]) <= 0)
    assert (zones["max_distance_km"] > 3).all()
    assert (zones["area_km2"] > 0).all()
    codes = set(communes.commune_code)
    for joined in zones["commune_codes"]:
        assert set(joined.split(";")) <= codes
    # no zone reaches closer to a point than the threshold minus half a cell diagonal
    zm = zones.to_crs(UTM).geometry.to_numpy()
    pts = points.geometry.to_numpy()
    dmin = shapely.distance(zm[:, None], pts[None, :]).min()
    assert dmin >= 3_000 - 250 / math.sqrt(2) - 1e-6
    # zones lie inside the communes
    union = shapely.union_all(communes.geometry.to_numpy())
    assert shapely.difference(shapely.union_all(zm), union).area < 1.0
    assert len(uncovered_zones(res.surface, res.dist_m, threshold_km=100)) == 0


@pytest.mark.parametrize("seed", range(6))
def test_zone_runs_match_the_union_of_squares(seed):
    # random far masks: holes, runs, squares touching only at a corner; the run
    # construction must give the parts of the plain union of the squares
    rng = np.random.default_rng(seed)
    communes = communes_gdf(
        [
            box(X0, Y0, X0 + 12_000, Y0 + 9_000),
            box(X0 + 12_000, Y0, X0 + 12_040, Y0 + 40),
        ],
        [50_000, 30],
    )
    s = build_population_grid(communes, cell_m=500.0)
    assert (s.footprint == 1).sum() == 1  # the small commune is one footprint
    dist = np.where(rng.random(len(s)) < 0.35 + 0.1 * (seed % 3), 9e3, 0.0)
    if seed % 2:
        dist[s.footprint == 1] = 9e3
    far = np.flatnonzero((s.pop > 0) & (dist > 5e3))
    main = far[s.footprint[far] == 0]
    assert _grid_runs_parts(s, main) is not None  # no fallback to the overlay
    fast_parts, fast_zone = _zone_parts(s, far)
    slow_parts, slow_zone = _zone_parts_overlay(s, far)
    assert len(fast_parts) == len(slow_parts)
    key = lambda parts, zone: sorted(  # noqa: E731
        (round(parts[z].area, 6), int((zone == z).sum())) for z in range(len(parts))
    )
    assert key(fast_parts, fast_zone) == key(slow_parts, slow_zone)
    assert (
        shapely.symmetric_difference(
            shapely.union_all(fast_parts), shapely.union_all(slow_parts)
        ).area
        < 1e-6
    )
    # each location lies in its own part
    inside = shapely.intersects_xy(fast_parts[fast_zone], s.x_m[far], s.y_m[far])
    assert inside.all()
    zones = uncovered_zones(s, dist, threshold_km=5)
    assert zones["population"].sum() == s.pop[far].sum()
    assert zones["zone_id"].nunique() == len(fast_parts)
    whole = uncovered_zones(s, dist, threshold_km=5, by_commune=False)
    assert len(whole) == len(fast_parts)


def test_a_zone_over_three_communes_gives_three_rows():
    communes = communes_gdf(
        [box(X0 + i * 4_000, Y0, X0 + (i + 1) * 4_000, Y0 + 2_000) for i in range(3)]
        + [box(X0, Y0 + 10_000, X0 + 2_000, Y0 + 12_000)],
        [8_000, 4_000, 2_000, 500],
    )
    s = build_population_grid(communes, cell_m=500.0)
    dist = np.where(s.y_m < Y0 + 1_000, 9e3, 0.0)  # a long strip across A, B, C
    dist[s.commune == 3] = 9e3  # and a zone of its own in D
    zones = uncovered_zones(s, dist, threshold_km=5)
    assert zones["commune_codes"].tolist() == ["C00", "C01", "C02", "C03"]
    assert zones["population"].tolist() == [4_000, 2_000, 1_000, 500]
    assert zones["zone_id"].tolist() == [1, 1, 1, 2]
    assert zones["population_zone"].tolist() == [7_000, 7_000, 7_000, 500]
    assert zones["area_km2"].to_numpy() == pytest.approx([4, 4, 4, 4], rel=1e-3)
    whole = uncovered_zones(s, dist, threshold_km=5, by_commune=False)
    assert whole["population"].tolist() == [7_000, 500]
    assert whole["commune_codes"].tolist() == ["C00;C01;C02", "C03"]
    assert whole["area_km2"].to_numpy() == pytest.approx([12, 4], rel=1e-3)


def test_zone_squares_touching_at_a_corner_are_two_zones():
    communes = communes_gdf([box(X0, Y0, X0 + 2_000, Y0 + 2_000)], [4_000])
    s = build_population_grid(communes, cell_m=1000.0)
    dist = np.where((s.ix + s.iy) % 2 == 0, 9e3, 0.0)
    zones = uncovered_zones(s, dist, threshold_km=5)
    assert len(zones) == 2
    assert zones["area_km2"].to_numpy() == pytest.approx([1.0, 1.0], rel=1e-3)


# ------------------------------------------------------------------ catchments


def test_catchments_sum_and_contain_their_point(province):
    communes, points = province
    # a duplicate location: two points at the same site share its catchment
    points = pd.concat([points, points.iloc[[0]].assign(point_id="dup")])
    points = gpd.GeoDataFrame(points, crs=UTM).reset_index(drop=True)
    res = compute_access(communes, points, cell_m=250.0)
    catch = point_catchments(communes, points, res.surface, res.nearest_idx)
    assert str(catch.crs) == "EPSG:4326"
    assert catch["point_id"].tolist() == points["point_id"].tolist()
    assert catch["pop_served"].sum() == pytest.approx(
        communes.population.sum(), rel=1e-12
    )
    from coverage.geo import area_km2

    assert catch["area_km2"].sum() == pytest.approx(area_km2(communes).sum(), rel=1e-6)
    np.testing.assert_allclose(
        catch["equivalent_radius_km"], np.sqrt(catch["area_km2"] / np.pi)
    )
    assert catch.loc[0, "n_colocated"] == 2 and catch.iloc[-1]["n_colocated"] == 2
    assert catch.loc[0, "pop_served"] == catch.iloc[-1]["pop_served"]
    metric = catch.to_crs(UTM).geometry.to_numpy()
    assert shapely.covers(metric, points.geometry.to_numpy()).all()
    # population served = population of the cells whose nearest point it is
    s = res.surface
    cell_point = np.argmin(
        np.hypot(
            s.x_m[:, None] - points.geometry.x.to_numpy()[None, :5],
            s.y_m[:, None] - points.geometry.y.to_numpy()[None, :5],
        ),
        axis=1,
    )
    brute = np.bincount(cell_point, weights=s.pop, minlength=5)
    got = catch["pop_served"].to_numpy()
    got5 = got[:5].copy()
    got5[0] += got[-1]
    np.testing.assert_allclose(got5, brute, rtol=1e-9)


def test_single_point_catchment_is_the_whole_layer(disk):
    communes, points, _ = disk
    res = compute_access(communes, points, cell_m=500.0)
    catch = point_catchments(communes, points, res.surface, res.nearest_idx)
    assert len(catch) == 1
    assert catch.loc[0, "pop_served"] == 100_000
    assert catch.loc[0, "area_km2"] == pytest.approx(math.pi * 100, rel=1e-3)


# ------------------------------------------------------------------ rules, profiles


def test_rules_per_district_and_rural_scope(province):
    communes, points = province
    res = compute_access(communes, points, cell_m=500.0)
    uk = load_benchmark("uk-post-office")
    table = evaluate_distance_rules(res, uk, level="district")
    assert set(table["unit"]) == {"Huyện A", "Huyện B"}
    rural = table[table["scope"] == "rural"]
    assert len(rural) == 2 and not rural["evaluated"].any()
    assert rural["passes"].isna().all()
    evaluated = table[table["evaluated"]]
    by = res.aggregate("district_name", thresholds_km=[1.61, 4.83])
    for _, row in evaluated.iterrows():
        share = by.set_index("district_name").loc[
            row["unit"], f"share_within_{threshold_label(row['distance_km'])}"
        ]
        assert row["share"] == pytest.approx(share)
        assert bool(row["passes"]) == (share >= row["min_share"])


@pytest.mark.parametrize(
    ("name", "rules"),
    [
        (
            "uk-post-office",
            {(4.83, 0.99, "all"), (1.61, 0.90, "all"), (4.83, 0.95, "rural")},
        ),
        (
            "it-universal-service",
            {(3.0, 0.75, "all"), (5.0, 0.925, "all"), (6.0, 0.975, "all")},
        ),
        ("nl-5km", {(5.0, 0.95, "all")}),
        ("be-5km-10km", {(5.0, 0.95, "all"), (10.0, 0.98, "all")}),
        ("pt-6km", {(6.0, 0.95, "all")}),
    ],
)
def test_distance_profiles(name, rules):
    bench = load_benchmark(name)
    assert {
        (r.distance_km, r.min_share, r.scope) for r in bench.distance_rules
    } == rules
    assert bench.require_staffed is False
    assert bench.sources and bench.radius_km is None


# ------------------------------------------------------------------ other surfaces


def test_settlements_rescaled_and_as_given():
    communes = communes_gdf(
        [
            box(X0, Y0, X0 + 5_000, Y0 + 5_000),
            box(X0 + 5_000, Y0, X0 + 10_000, Y0 + 5_000),
        ],
        [10_001, 3_000],
    )
    villages = gpd.GeoDataFrame(
        {"population": [100, 300, 50, 999]},
        geometry=[
            Point(X0 + 1_000, Y0 + 1_000),
            Point(X0 + 4_000, Y0 + 4_000),
            Point(X0 + 2_000, Y0 + 500),
            Point(X0 + 50_000, Y0),  # outside every commune
        ],
        crs=UTM,
    ).to_crs(4326)
    s = population_from_settlements(communes, villages, rescale=True, cell_m=500)
    per = np.bincount(s.commune, weights=s.pop, minlength=2)
    assert per.tolist() == [10_001.0, 3_000.0]
    first = s.commune == 0
    np.testing.assert_allclose(
        np.sort(s.pop[first]), np.sort([100, 300, 50]) * 10_001 / 450, rtol=1e-9
    )
    assert any("outside" in n for n in s.notes)
    assert (s.footprint[s.commune == 1] == 0).all()  # grid fallback
    s2 = population_from_settlements(communes, villages, rescale=False)
    per2 = np.bincount(s2.commune, weights=s2.pop, minlength=2)
    assert per2.tolist() == [450.0, 0.0]
    res = compute_access(communes, points_gdf([[X0 + 1_000, Y0 + 1_000]]), surface=s2)
    assert res.communes.loc[0, "pop_within_2km"] == 150


def test_raster_needs_rasterio(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "rasterio", None)
    communes = communes_gdf([box(X0, Y0, X0 + 5_000, Y0 + 5_000)], [10])
    with pytest.raises(InputError, match=r"coverage-planner\[raster\]"):
        population_from_raster(tmp_path / "pop.tif", communes)


def test_raster_surface(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    communes = communes_gdf([box(X0, Y0, X0 + 5_000, Y0 + 5_000)], [10_000])
    data = np.zeros((50, 50), dtype="float32")
    data[10:20, 10:20] = 3.0
    path = tmp_path / "pop.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=50,
        width=50,
        count=1,
        dtype="float32",
        crs=UTM,
        transform=from_origin(X0, Y0 + 5_000, 100, 100),
    ) as dst:
        dst.write(data, 1)
    s = population_from_raster(path, communes, rescale=True)
    assert len(s) == 100 and s.pop.sum() == 10_000
    s2 = population_from_raster(path, communes, rescale=False)
    assert s2.pop.sum() == pytest.approx(300.0)


@pytest.mark.parametrize("side_m", [1.0, 100.0])
def test_commune_smaller_than_a_cell_keeps_its_people(side_m):
    communes = communes_gdf([box(X0, Y0, X0 + side_m, Y0 + side_m)], [7])
    surface = build_population_grid(communes, cell_m=250.0)
    assert len(surface) == 1
    assert surface.pop.sum() == 7
    assert surface.footprint[0] == FOOTPRINT_COMMUNE
