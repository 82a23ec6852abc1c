"""`?page=&limit=` pagination with the `{count, next, previous, results}` body."""

from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination


class PageLimitPagination(PageNumberPagination):
    """Page-number pagination; `limit` defaults to 20 and is capped at 100.

    An out-of-range or malformed page is a 404 (DRF's NotFound, rendered as
    problem+json). A `limit` that is not a positive integer is a 400 naming
    `limit` (DRF would silently use the default, which hides client bugs and
    would make the schema's `minimum` a lie). Empty values
    (`?page=&limit=`) mean "not given", and the schema says so.
    """

    page_size = 20
    page_query_param = "page"
    page_size_query_param = "limit"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise serializers.ValidationError({self.page_size_query_param: ["Must be a positive integer."]})
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["allowEmptyValue"] = True
            if parameter["name"] == self.page_size_query_param:
                # Larger values are capped, not refused, so no `maximum` (a client sending 500 gets 100).
                parameter["schema"].update({"minimum": 1, "default": self.page_size})
                parameter["description"] = f"Results per page, 1 or more; capped at {self.max_page_size}."
            elif parameter["name"] == self.page_query_param:
                parameter["schema"].update({"minimum": 1, "default": 1})
        return parameters
