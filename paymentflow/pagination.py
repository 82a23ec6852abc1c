"""`?page=&limit=` pagination with the `{count, next, previous, results}` body."""

from rest_framework.pagination import PageNumberPagination


class PageLimitPagination(PageNumberPagination):
    """Page-number pagination; `limit` defaults to 20 and is capped at 100.

    An out-of-range page is a 404 (DRF's NotFound, rendered as problem+json).
    """

    page_size = 20
    page_query_param = "page"
    page_size_query_param = "limit"
    max_page_size = 100

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size, "default": self.page_size})
            elif parameter["name"] == self.page_query_param:
                parameter["schema"].update({"minimum": 1, "default": 1})
        return parameters
