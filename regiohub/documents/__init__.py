"""Documents: outgoing letters sealed with the municipality's electronic seal and delivered
to the eBox or on paper, exactly once (issue 21).

Built so far: :mod:`.pdfs`, the checks a PDF passes before it is sealed. The identifiers
of its recipients are shared (``regiohub.core.identifiers``). Research for the rest is in
``docs/research/issue-21-*.md``.
"""
