"""Travel time over roads and terrain (minutes, not straight lines).

* :mod:`~coverage.travel.roads` reads road networks (OSM ``.osm.pbf`` or a line
  layer) into canonical road classes;
* :mod:`~coverage.travel.profiles` holds the speeds per mode and road class;
* :mod:`~coverage.travel.terrain` reads a DEM and gives Tobler's off-road speed;
* :mod:`~coverage.travel.graph` builds one sparse directed graph of roads, cells
  and service points;
* :mod:`~coverage.travel.times` runs one multi-source Dijkstra on it
  (:func:`~coverage.travel.times.travel_times_min`).
"""

from __future__ import annotations

__all__: list[str] = []
