"""Office reports over periods and "as of" cuts of the event store (docs/analysts.md, 'Reports').

Layers: :mod:`reports.periods` and :mod:`reports.table` are plain values; :mod:`reports.facts` and
:mod:`reports.store` the rows and records; :mod:`reports.pg_facts` and :mod:`reports.pg_store` are their SQL
adapters (the event store as of a moment; frozen reports), and :mod:`reports.pg_reads` holds the other read
queries (the demo's figures, the domain metrics, lag); :mod:`reports.disclosure`, :mod:`reports.petitions` and
:mod:`reports.service_centre` compute the figures from the facts; :mod:`reports.formats` writes CSV, Excel and
HTML.
"""
