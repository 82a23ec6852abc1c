"""Pagination whose pages can be cached: count and results are cached, links are not.

`next`/`previous` are absolute URLs built from the request (host, unknown
query parameters), so they are rebuilt on every response instead of being
served to another client from the cache. The results are cached as the JSON
bytes they render to, and spliced into each response as they are.
"""

import json
from collections.abc import Callable

from django.http import HttpResponse
from rest_framework.utils.urls import remove_query_param, replace_query_param

from paymentflow.pagination import PageLimitPagination


class CachedPageLimitPagination(PageLimitPagination):
    def cacheable_page_number(self, request) -> int | None:
        """Return the requested page as a number, or None if only the uncached path can answer it.

        "last", an empty or a malformed value go through DRF's own handling.
        """
        try:
            number = int(request.query_params.get(self.page_query_param, "1"))
        except ValueError:
            return None
        return number if number >= 1 else None

    def page_data(self, queryset, request, view, *, serialize: Callable[[list], list]) -> dict:
        """Read one page from the database: `{"count", "results"}` (raises NotFound out of range)."""
        page = self.paginate_queryset(queryset, request, view)
        return {"count": self.page.paginator.count, "results": serialize(page)}

    def response_for(self, request, data: dict, *, page_number: int, page_size: int) -> HttpResponse:
        """Answer with the list body for this request: `data` is `{"count", "results"}`, results as JSON bytes."""
        url = request.build_absolute_uri()
        last_page = max(1, -(-data["count"] // page_size))
        next_link = None
        if page_number < last_page:
            next_link = replace_query_param(url, self.page_query_param, page_number + 1)
        if page_number == 1:
            previous_link = None
        elif page_number == 2:
            previous_link = remove_query_param(url, self.page_query_param)
        else:
            previous_link = replace_query_param(url, self.page_query_param, page_number - 1)
        head = json.dumps(
            {"count": data["count"], "next": next_link, "previous": previous_link},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        body = b"".join((head[:-1].encode(), b',"results":', data["results"], b"}"))
        return HttpResponse(body, content_type="application/json")
