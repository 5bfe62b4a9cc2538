"""Paging of the API's lists: ``limit`` and ``offset``, within bounds the databases accept.

Django REST framework's ``LimitOffsetPagination`` passes any number on to the query: a
``limit`` or ``offset`` beyond 64 bits made SQLite answer "datatype mismatch" (a 500).
Here a limit is at most ``MAX_LIMIT`` and an offset beyond ``MAX_OFFSET`` gives an empty
page, as any offset past the end does."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination

#: Most rows in one page of a list.
MAX_LIMIT = 1000
#: Far beyond any list, far within a 64-bit integer.
MAX_OFFSET = 10**12


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``limit`` at most ``MAX_LIMIT``; an offset past ``MAX_OFFSET`` reads as it."""

    max_limit = MAX_LIMIT

    def get_offset(self, request: Any) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
