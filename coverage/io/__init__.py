"""Reading commune and service-point layers into the canonical data model.

Communes become a GeoDataFrame with ``commune_code, commune_name, [district_name],
[province_name], population, geometry``; service points one with ``point_id, name,
kind, staffed, admin_services, operator, [declared_commune_code], geometry``.
Source columns are recognised under common names (English, Vietnamese, GADM) or
named explicitly with ``columns={"population": "DS_2019"}``. Every problem found in
a layer is collected and reported together in one :class:`ValidationError`.

The modules: :mod:`~coverage.io.files` opens files (paths, spatial layers, CSV
tables, CRS), :mod:`~coverage.io.columns` recognises columns and parses cells,
:mod:`~coverage.io.communes` and :mod:`~coverage.io.points` read each layer, and
:mod:`~coverage.io.problems` holds what they report.
"""

from __future__ import annotations

from .columns import (
    COMMUNE_ALIASES,
    POINT_ALIASES,
    check_column_keys,
    normalise_key,
    parse_bool,
    parse_number,
)
from .communes import MAX_POPULATION, load_communes, read_communes
from .files import LayerChoiceError, read_table
from .points import KINDS, assign_points, load_points, read_points, read_settlements
from .problems import Loaded, Problem

__all__ = [
    "COMMUNE_ALIASES",
    "KINDS",
    "MAX_POPULATION",
    "POINT_ALIASES",
    "LayerChoiceError",
    "Loaded",
    "Problem",
    "assign_points",
    "check_column_keys",
    "load_communes",
    "load_points",
    "normalise_key",
    "parse_bool",
    "parse_number",
    "read_communes",
    "read_points",
    "read_settlements",
    "read_table",
]
