"""Documents: outgoing letters sealed with the municipality's electronic seal and delivered
to the eBox or on paper, exactly once (issue 21).

Built so far: :mod:`.pdfs`, the checks a PDF passes before it is sealed; :mod:`.signing`,
the seal itself (PAdES B-T or B-LT with pyHanko, a key in a PKCS#12 file or on a PKCS#11
token, one kept-alive connection to the timestamp authority). The identifiers of its
recipients are shared (``regiohub.core.identifiers``). Research for the rest is in
``docs/research/issue-21-*.md``.
"""
