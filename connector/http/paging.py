"""Paging helpers: stream a list endpoint page by page, never the whole list at once.

Two shapes cover the services here: numbered pages (PowerOffice Go ``PageNumber`` /
``PageSize``) and offsets (Kravia ``skip`` / ``top``). Either way a page is a JSON array,
an empty list is also a ``204 No Content``, and a page shorter than asked is the last one
unless the server says otherwise (a ``X-Pagination`` header with ``nextPageLink``, or a
total count).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx

from connector.http import jsonio
from connector.http.errors import HttpError

PAGINATION_HEADER = "X-Pagination"


def items_of(response: httpx.Response) -> list[Any]:
    """A list response's items: ``[]`` for 204 or an empty body; an error if not an array."""
    if response.status_code == 204 or not response.content:
        return []
    body = jsonio.loads(response.content)
    if not isinstance(body, list):
        raise HttpError(f"expected a JSON array from {response.request.url.path}, "
                        f"got {type(body).__name__}", status=response.status_code)
    return body


def more_pages(response: httpx.Response) -> bool | None:
    """What ``X-Pagination`` says about a next page, or None when it says nothing."""
    header = response.headers.get(PAGINATION_HEADER)
    if not header:
        return None
    try:
        info = jsonio.loads(header)
    except ValueError:
        return None
    if not isinstance(info, dict):
        return None
    lowered = {str(k).lower(): v for k, v in info.items()}
    if "nextpagelink" in lowered:
        return bool(lowered["nextpagelink"])
    if "currentpage" in lowered and "totalpages" in lowered:
        return bool(lowered["currentpage"] < lowered["totalpages"])
    return None


def numbered_pages(fetch: Callable[[int, int], httpx.Response], page_size: int,
                   first: int = 1) -> Iterator[list[Any]]:
    """Yield the items of page ``first``, ``first + 1``, … until the last page.

    ``fetch(page_number, page_size)`` makes the request. Order the request by a field that
    does not move under the filter (e.g. the cursor field), so that no row is skipped.
    """
    number = first
    while True:
        response = fetch(number, page_size)
        items = items_of(response)
        if items:
            yield items
        more = more_pages(response)
        if not items or (more is False) or (more is None and len(items) < page_size):
            return
        number += 1


def offset_pages(fetch: Callable[[int, int], httpx.Response], page_size: int,
                 total: Callable[[httpx.Response], int | None] | None = None,
                 items: Callable[[httpx.Response], list[Any]] = items_of,
                 ) -> Iterator[list[Any]]:
    """Yield pages fetched as ``fetch(skip, top)`` until a short page or ``total`` is read.

    ``items`` takes a page's rows out of a response (default: the body is the array);
    ``total``, when given, reads the total row count from a response.
    """
    skip = 0
    while True:
        response = fetch(skip, page_size)
        rows = items(response)
        if rows:
            yield rows
        skip += len(rows)
        known = total(response) if total else None
        if not rows or (known is not None and skip >= known) or (
                known is None and len(rows) < page_size):
            return
