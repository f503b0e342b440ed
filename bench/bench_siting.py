"""Benchmark p-median siting: the project and spopt side by side on one instance.

Usage (also ``python bench/bench_plan.py --objective median ...``)::

    python bench/bench_siting.py INSTANCE_DIR [--k K] [--time-limit S] [--repeat N]
        [--no-spopt] [--spopt-time-limit S] [--spopt-memory-gb G] [--fallback DIR]

INSTANCE_DIR is in the format of /work/shared/bench/README.md (demand.csv,
existing.csv, candidates.csv, meta.json, made by make_instance.py). Both solve the
same p-median: keep the existing points, open ``K`` (default ``meta.json``'s ``p``)
candidate sites, minimise the population-weighted sum of distances from the
populated cells to their nearest open point.

* the project: :func:`coverage.plan.solve_p_median` (swap local search, a
  Lagrangian bound fixing candidates closed, the radius-formulation MILP on the
  candidates left when needed), median wall and CPU time of ``--repeat`` runs;
* spopt: ``PMedian.from_cost_matrix`` on the dense cells x (existing + candidates)
  distance matrix with the existing points predefined and ``p_facilities = E + K``,
  solved by CBC through pulp, in a child process bounded by ``--spopt-time-limit``
  (wall clock, model building included) and ``--spopt-memory-gb`` (address space),
  so that an instance spopt cannot handle ends cleanly with what was measured.
  With ``--fallback SMALL_DIR`` the same comparison then runs, in the same call, on
  a smaller instance spopt can finish (e.g. medium, then small).

Cells without population are given to neither (they add nothing to the objective).
spopt, pulp and CBC come from the ``peers`` extra: ``pip install -e '.[peers]'``.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from coverage.plan import load_instance, solve_p_median


def _spopt_child(
    queue: Any,
    demand_xy: np.ndarray,
    pop: np.ndarray,
    fac_xy: np.ndarray,
    n_existing: int,
    k: int,
    time_limit_s: float,
    memory_gb: float,
) -> None:
    import resource
    import warnings

    os.setsid()  # its own process group, so CBC (a grandchild) ends with it
    limit = int(memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    t0 = time.perf_counter()
    try:
        import pulp
        from scipy.spatial.distance import cdist
        from spopt.locate import PMedian

        warnings.simplefilter("ignore")
        predefined = np.r_[np.ones(n_existing), np.zeros(len(fac_xy) - n_existing)]
        model = PMedian.from_cost_matrix(
            cdist(demand_xy, fac_xy),
            pop,
            p_facilities=n_existing + k,
            predefined_facilities_arr=predefined.astype(int),
        )
        built = time.perf_counter() - t0
        queue.put(("built", built))
        left = max(time_limit_s - built, 1.0)
        model = model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=left))
        status = pulp.LpStatus[model.problem.status]
        value = float(model.problem.objective.value())
        queue.put(("done", time.perf_counter() - t0, status, value))
    except MemoryError:
        queue.put(("memory", time.perf_counter() - t0))
    except Exception as exc:  # report any spopt failure instead of a traceback
        queue.put(("error", time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"))


def _run_spopt(
    demand_xy: np.ndarray,
    pop: np.ndarray,
    fac_xy: np.ndarray,
    n_existing: int,
    k: int,
    time_limit_s: float,
    memory_gb: float,
) -> dict[str, Any]:
    try:
        import pulp  # noqa: F401
        import spopt  # noqa: F401
    except ImportError:
        return {"state": "absent"}
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(
        target=_spopt_child,
        args=(queue, demand_xy, pop, fac_xy, n_existing, k, time_limit_s, memory_gb),
    )
    t0 = time.perf_counter()
    proc.start()
    out: dict[str, Any] = {"state": "timeout", "build_s": None}
    deadline = t0 + time_limit_s + 5.0
    while time.perf_counter() < deadline:
        try:
            msg = queue.get(timeout=1.0)
        except Exception:  # queue.Empty: keep waiting while the child lives
            if not proc.is_alive():
                out["state"] = "crashed"
                break
            continue
        if msg[0] == "built":
            out["build_s"] = msg[1]
            continue
        out["state"] = msg[0]
        if msg[0] == "done":
            out.update(status=msg[2], objective=msg[3])
        if msg[0] == "error":
            out["error"] = msg[2]
        break
    out["elapsed_s"] = time.perf_counter() - t0
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.join()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance", type=Path)
    ap.add_argument("--k", type=int, default=None, help="new sites (default: meta p)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="ours, seconds")
    ap.add_argument("--repeat", type=int, default=3, help="our runs; median shown")
    ap.add_argument("--no-spopt", action="store_true")
    ap.add_argument("--spopt-time-limit", type=float, default=900.0, help="seconds")
    ap.add_argument("--spopt-memory-gb", type=float, default=12.0)
    ap.add_argument(
        "--fallback",
        type=Path,
        default=None,
        help="a smaller instance compared too, in the same run, when spopt does not "
        "finish the first one (out of memory or time)",
    )
    a = ap.parse_args(argv)
    state = _compare(a.instance, a)
    if state not in ("done", "absent", "skipped") and a.fallback is not None:
        print(
            f"\nspopt did not finish on {a.instance.name}; comparing on the smaller "
            f"instance {a.fallback.name} (spopt limit {a.spopt_time_limit:g} s):"
        )
        _compare(a.fallback, a)
    return 0


def _compare(path: Path, a: argparse.Namespace) -> str:
    inst = load_instance(path)
    k = inst.p if a.k is None else a.k
    live = inst.demand_pop > 0
    dxy, pop = inst.demand_xy[live], inst.demand_pop[live]
    n_fac = len(inst.existing_xy) + len(inst.candidate_xy)
    print(
        f"instance {inst.meta.get('name', path)}: {int(live.sum()):,} populated "
        f"cells, {len(inst.existing_xy)} existing (kept), "
        f"{len(inst.candidate_xy):,} candidates, K = {k}; dense matrix for spopt "
        f"{int(live.sum()) * n_fac:,} cells x sites"
    )
    runs = []
    for _ in range(max(a.repeat, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        res = solve_p_median(
            dxy, pop, inst.existing_xy, inst.candidate_xy, k, time_limit_s=a.time_limit
        )
        runs.append((time.perf_counter() - t0, time.process_time() - c0, res))
    ours_s = statistics.median(r[0] for r in runs)
    ours_cpu = statistics.median(r[1] for r in runs)
    res = runs[-1][2]
    st = res.stats
    line = (
        f"reduction   : {st['n_pairs_reduced']:,} cell-candidate pairs closer than the "
        "nearest existing point"
    )
    if "lagrange_iterations" in st:
        line += (
            f"; Lagrangian bound after {st['lagrange_iterations']} steps: gap "
            f"{st['lagrange_gap']:.1e}, {st['n_candidates_fixed_closed']:,} of "
            f"{len(inst.candidate_xy):,} candidates fixed closed"
        )
    if "n_rows" in st:
        line += f"; MILP {st['n_rows']:,} rows, {st['nnz']:,} non-zeros"
    print(line)
    print(f"{'':12s}  {'time (s)':>10s}  {'objective (person-m)':>22s}  status")
    print(
        f"{'project':12s}  {ours_s:10.3f}  {res.objective:22,.1f}  {res.status} "
        f"(bound {res.bound:,.1f}, gap {res.gap:.2e}; CPU {ours_cpu:.3f} s, median "
        f"of {len(runs)}; mean distance {res.mean_distance_m:,.1f} m, before "
        f"{res.objective_before / pop.sum():,.1f} m)"
    )
    if a.no_spopt:
        return "skipped"
    sp = _run_spopt(
        dxy,
        pop,
        np.vstack([inst.existing_xy, inst.candidate_xy]),
        len(inst.existing_xy),
        k,
        a.spopt_time_limit,
        a.spopt_memory_gb,
    )
    if sp["state"] == "absent":
        print("spopt       : not importable (pip install -e '.[peers]'); skipped")
        return "absent"
    built = (
        "" if sp.get("build_s") is None else f"; model built in {sp['build_s']:.1f} s"
    )
    if sp["state"] == "done":
        rel = abs(sp["objective"] - res.objective) / max(abs(res.objective), 1.0)
        print(
            f"{'spopt (CBC)':12s}  {sp['elapsed_s']:10.3f}  {sp['objective']:22,.1f}  "
            f"{sp['status']}{built}"
        )
        print(
            f"speed-up    : {sp['elapsed_s'] / ours_s:,.0f}x; objectives differ by "
            f"{rel:.2e} (relative)"
        )
    else:
        why = {
            "timeout": f"did not finish within its {a.spopt_time_limit:g} s limit",
            "memory": f"ran out of its {a.spopt_memory_gb:g} GB memory limit",
            "crashed": "its process died (memory?)",
            "error": sp.get("error", "failed"),
        }[sp["state"]] + (
            f" (limits: {a.spopt_time_limit:g} s, {a.spopt_memory_gb:g} GB; "
            "stopped, no objective)"
        )
        print(f"{'spopt (CBC)':12s}  {sp['elapsed_s']:10.3f}  {'-':>22s}  {why}{built}")
        print(
            f"speed-up    : more than {sp['elapsed_s'] / ours_s:,.0f}x "
            "(spopt unfinished)"
        )
    return str(sp["state"])


if __name__ == "__main__":
    sys.exit(main())
