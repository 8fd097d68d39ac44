from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """``?page=N&page_size=M`` (default 50, at most 500) with ``count``/``next``/``previous``."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
