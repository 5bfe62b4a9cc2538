"""The harvest of other catalogues into the open data portal (decision 0031): a
municipality's DCAT-AP feed, read page by page (:mod:`.fetch`, :mod:`.dcat`), written as
harvested publications all or nothing (:mod:`.run`), on a schedule (:mod:`.tasks`)."""
