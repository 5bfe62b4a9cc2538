"""Feeds: sources that are pulled on a schedule (Telraam, bike counters, energy meters...).

A feed is one small class (:mod:`.base`) registered by its ``kind`` (:mod:`.registry`). It
yields batches of rows as Arrow tables, each with the cursor to store once that batch is
written, so an interrupted run resumes where it stopped.
"""
