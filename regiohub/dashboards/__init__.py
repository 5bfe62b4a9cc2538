"""Dashboards: figures over the data platform and the contact point, read only through
their doors (``datasets.queries``, ``meldpunt.queries``) and events (issue 20).

Built so far: :mod:`.charts`, the server-side rendering of a chart.
"""
