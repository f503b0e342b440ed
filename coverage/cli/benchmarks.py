"""``coverage benchmarks``: the shipped benchmark profiles, values and sources."""

from __future__ import annotations

import click

from .main import call

__all__ = ["benchmarks"]


@click.command()
@click.pass_context
def benchmarks(ctx: click.Context) -> None:
    """List the benchmark profiles shipped with the tool, with values and sources.

    \b
    Example:
        coverage benchmarks
        coverage analyze --benchmark vn-strategy-2025
    """
    from ..benchmarks import list_benchmarks, rule_label, time_rule_text

    for bench in call(ctx, list_benchmarks):
        click.echo(f"{bench.name}")
        click.echo(f"    {bench.title}")
        values = []
        if bench.radius_km is not None:
            values.append(f"radius ≤ {bench.radius_km:g} km")
        if bench.people_per_point is not None:
            values.append(f"people per point ≤ {bench.people_per_point:,.0f}")
        if bench.require_staffed:
            values.append("every commune has a staffed point")
        for rule in bench.distance_rules:
            values.append(rule_label(rule, scope_note=" population"))
        values += [
            time_rule_text(rule) + " (needs --roads)" for rule in bench.time_rules
        ]
        click.echo(f"    values: {'; '.join(values) or '—'}")
        for source in bench.sources:
            click.echo(f"    source: {source}")
