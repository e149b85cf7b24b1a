"""Office reports over periods and "as of" cuts of the event store (docs/analysts.md, 'Reports').

Layers: :mod:`reports.periods` and :mod:`reports.table` are plain values; :mod:`reports.facts` and
:mod:`reports.store` are the SQL adapters (the event store as of a moment; frozen reports);
:mod:`reports.disclosure`, :mod:`reports.petitions` and :mod:`reports.service_centre` compute the figures
from the facts; :mod:`reports.formats` writes CSV, Excel and HTML.
"""
