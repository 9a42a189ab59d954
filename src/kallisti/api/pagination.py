"""Lists stay bare JSON arrays (as Kallisti clients expect); paging is opt-in
with `limit`/`offset`, and the headers carry the total and the next page."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter

from kallisti.store import Page

__all__ = ["list_json_response", "list_response"]


def list_response(
    request: Request,
    adapter: TypeAdapter[Any],
    items: list[Any],
    total: int,
    page: Page,
) -> Response:
    return list_json_response(
        request, adapter.dump_json(items), len(items), total, page
    )


def list_json_response(
    request: Request, content: bytes, returned: int, total: int, page: Page
) -> Response:
    """A list already written as a JSON array of `returned` items."""
    headers = {"X-Total-Count": str(total)}
    if page.limit is not None and page.offset + returned < total:
        next_url = request.url.include_query_params(offset=page.offset + returned)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return Response(content=content, media_type="application/json", headers=headers)
