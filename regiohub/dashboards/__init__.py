"""Dashboards: figures over the data platform and the contact point, read only through
their doors (``datasets.queries``, ``meldpunt.queries``) and events (issue 20).

Built so far (ADR 0042): :mod:`.charts`, the server-side rendering of a chart;
:mod:`.definitions`, the reader of ``<slug>.yaml`` definitions for files and the admin;
:mod:`.summaries`, the sentence under a chart made from its data; :mod:`.figures`, a
chart's rows asked through the read doors for the viewer and the filters, drawn.
"""
