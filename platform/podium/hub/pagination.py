"""Pages of a listing as the Hub sends them: a page of JSON, and a `Link: <url>; rel="next"` header (GitHub's
format, which huggingface_hub's `paginate` follows) to the next page while there is one."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request


def next_page(request: Request, **changed: str) -> dict[str, str]:
    """The `Link` header to this same URL with the query parameters `changed`. Built from the raw path,
    which keeps a quoted revision (`a%2Fb`) quoted."""
    query = urlencode({**request.query_params, **changed})
    raw_path = request.scope.get("raw_path", request.scope["path"].encode()).decode("latin-1")
    return {"Link": f'<{str(request.base_url).rstrip("/")}{raw_path}?{query}>; rel="next"'}
