"""Everything a run writes or shows: tables, files, the writers and the report.

=============  ==========================================================
module         job
=============  ==========================================================
``tables``     the result tables in their published column order
``files``      atomic :class:`OutputSet`; CSV, JSON, XLSX, GPKG writers
``write``      the files of ``analyze`` (national, by province) and ``plan``
``report``     the terminal summary and plan text
=============  ==========================================================
"""

__all__: list[str] = []
