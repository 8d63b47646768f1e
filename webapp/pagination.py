"""One paginator for every list: a page of results and whether another page follows.

It reads one row more than the page (LIMIT n + 1) instead of counting, so no COUNT(*) runs
over a large table: the next page exists exactly when that extra row came back. The page
number comes from `webapp.parsing.page_arg`, which bounds it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from webapp.extensions import db


def page_of(query: Select, page: int, per_page: int, *, rows: bool = False) -> tuple[list, bool]:
    """Return page `page` (from 1) of `query`'s results, `per_page` of them, and whether more
    follow; `rows=True` returns whole rows as tuples (a query of several entities)."""
    window = query.limit(per_page + 1).offset(offset_of(page, per_page))
    found: list[Any] = (
        [tuple(row) for row in db.session.execute(window)]
        if rows
        else list(db.session.scalars(window))
    )
    return found[:per_page], len(found) > per_page


def offset_of(page: int, per_page: int) -> int:
    """Return how many results come before page `page` (from 1): for a search index, which
    pages itself and counts its total."""
    return (page - 1) * per_page
