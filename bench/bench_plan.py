"""Benchmark the siting optimiser on a coverage-location instance.

Usage::

    python bench/bench_plan.py INSTANCE_DIR [--method auto|exact|greedy]
        [--time-limit S] [--target RULE] [--repeat N]
    python bench/bench_plan.py INSTANCE_DIR --objective median [--fallback SMALL_DIR]
        [--k K] [--spopt-time-limit S] [--spopt-memory-gb G] [--no-spopt] ...

INSTANCE_DIR is in the format of /work/shared/bench/README.md (demand.csv,
existing.csv, candidates.csv, meta.json, made by make_instance.py). The instance
goes through :func:`coverage.plan.plan_new_sites`, the function ``coverage plan``
calls: maximal covering with ``meta.json``'s ``p`` new sites (or, with --target,
the set-covering rule), keeping the existing points. Prints the objective,
status, gap, bound, number of selected sites and the time of every stage.

``--objective median`` runs the p-median comparison of ``bench/bench_siting.py``
instead (the project and spopt side by side; its options follow).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from pathlib import Path

from coverage.plan import load_instance, plan_new_sites


def _checksums_ok(directory: Path, meta: dict) -> str:
    expected = meta.get("sha256") or {}
    if not expected:
        return "no checksums in meta.json"
    for name, digest in expected.items():
        h = hashlib.sha256((directory / name).read_bytes()).hexdigest()
        if h != digest:
            return f"MISMATCH for {name}"
    return "ok"


def main(argv: list[str] | None = None) -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--objective", choices=["cover", "median"], default="cover")
    first, rest = pre.parse_known_args(sys.argv[1:] if argv is None else argv)
    if first.objective == "median":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_siting import main as siting_main

        return siting_main(rest)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--objective",
        choices=["cover", "median"],
        default="cover",
        help="median: the p-median comparison with spopt (bench_siting.py)",
    )
    ap.add_argument("instance", type=Path)
    ap.add_argument("--method", choices=["auto", "exact", "greedy"], default="auto")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds")
    ap.add_argument("--target", default=None, help="set-covering rule, e.g. all, 95%%")
    ap.add_argument("--repeat", type=int, default=3, help="runs; the median is shown")
    ap.add_argument(
        "--spopt",
        action="store_true",
        help="also solve with spopt's MCLP (CBC) when spopt is importable",
    )
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    inst = load_instance(a.instance)
    load_s = time.perf_counter() - t0
    meta = inst.meta
    print(
        f"instance {meta.get('name', a.instance)}: {len(inst.demand_pop):,} cells "
        f"({int((inst.demand_pop > 0).sum()):,} populated), "
        f"{len(inst.existing_xy)} existing, {len(inst.candidate_xy):,} candidates, "
        f"R = {inst.radius_m:g} m, p = {inst.p}; checksums "
        f"{_checksums_ok(a.instance, meta)}"
    )
    mode = {"target": a.target} if a.target else {"add": inst.p}
    runs = []
    for _ in range(max(a.repeat, 1)):
        t1 = time.perf_counter()
        res = plan_new_sites(
            inst.demand_xy,
            inst.demand_pop,
            inst.existing_xy,
            inst.candidate_xy,
            radius_m=inst.radius_m,
            method=a.method,
            time_limit_s=a.time_limit,
            **mode,
        )
        runs.append((time.perf_counter() - t1, res))
    total_s = statistics.median(r[0] for r in runs)
    res = runs[-1][1]
    tm = {k: statistics.median(r[1].timings[k] for r in runs) for k in res.timings}
    st = res.stats
    problem = f"target {a.target}" if a.target else f"add {inst.p}"
    print(f"problem     : {res.problem} ({problem}), method {a.method} -> {res.method}")
    if "n_rows_merged" in st:
        print(
            f"reduced     : {st['n_demand_open']:,} open cells -> "
            f"{st['n_rows_merged']:,} merged rows; {st['n_candidates']:,} -> "
            f"{st['n_candidates_kept']:,} candidates; nnz {st['nnz']:,} -> "
            f"{st['nnz_reduced']:,}"
        )
        print(
            f"population  : total {st['pop_total']:,.0f}, already covered "
            f"{st['pop_already_covered']:,.0f}, unreachable "
            f"{st['pop_uncoverable']:,.0f}"
        )
    print(f"objective   : {res.objective:,.0f}")
    print(f"newly cov.  : {res.newly_covered_pop:,.0f}")
    print(f"status      : {res.status}")
    print(f"bound       : {res.bound:,.0f}")
    print(f"gap         : {res.gap:.4%}")
    print(f"selected    : {len(res.selected)}")
    if res.detail:
        print(f"detail      : {res.detail}")
    print(
        f"times (s)   : load {load_s:.3f} | build {tm.get('build_s', 0):.3f} | "
        f"reduce {tm.get('reduce_s', 0):.3f} | solve {tm.get('solve_s', 0):.3f} | "
        f"total after loading {total_s:.3f} (median of {len(runs)})"
    )
    if a.spopt and not a.target:
        _spopt_side_by_side(inst, res.objective)
    return 0


def _spopt_side_by_side(inst, objective: float) -> None:
    """Solve the same MCLP with spopt (dense cost matrix, CBC) and print the ratio.

    Demand already covered by an existing point is left out, which is the same
    problem as keeping the existing points.
    """
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:
        print("spopt      : not importable; skipped")
        return
    import numpy as np
    from scipy.spatial import cKDTree
    from scipy.spatial.distance import cdist

    t0 = time.perf_counter()
    dist, _ = cKDTree(inst.existing_xy).query(inst.demand_xy)
    open_rows = (inst.demand_pop > 0) & (dist > inst.radius_m)
    cost = cdist(inst.demand_xy[open_rows], inst.candidate_xy)
    weights = inst.demand_pop[open_rows]
    model = MCLP.from_cost_matrix(
        cost, weights, service_radius=inst.radius_m, p_facilities=inst.p
    )
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    clients = [np.asarray(c, dtype=int) for c in model.fac2cli if len(c)]
    hit = np.unique(np.concatenate(clients)) if clients else np.zeros(0, int)
    value = float(weights[hit].sum())
    ratio = objective / value if value > 0 else float("nan")
    print(
        f"spopt      : objective {value:,.0f} in {time.perf_counter() - t0:.2f} s "
        f"(ours / spopt = {ratio:.4f})"
    )


if __name__ == "__main__":
    sys.exit(main())
