"""Lists stay bare JSON arrays (as Kallisti clients expect); paging is opt-in
with `limit`/`offset`, and the headers carry the total and the next page."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter

from kallisti.store import Page

__all__ = ["list_response"]


def list_response(
    request: Request,
    adapter: TypeAdapter[Any],
    items: list[Any],
    total: int,
    page: Page,
) -> Response:
    headers = {"X-Total-Count": str(total)}
    if page.limit is not None and page.offset + len(items) < total:
        next_url = request.url.include_query_params(offset=page.offset + len(items))
        headers["Link"] = f'<{next_url}>; rel="next"'
    return Response(
        content=adapter.dump_json(items),
        media_type="application/json",
        headers=headers,
    )
