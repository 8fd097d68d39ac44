"""The Django admin: jobs, applications, links, clicks, profile links and API keys.

Links are created and changed through ``tracking.services`` (the same URL rules and cache
invalidation as the API); clicks are read-only. List pages are built to stay fast with tens of
thousands of links and millions of clicks: per-row click figures come from correlated subqueries
evaluated only for the rows of the page, and on PostgreSQL a large click list takes the planner's
row estimate instead of counting every matching click.
"""

from __future__ import annotations

from django.contrib import admin

# Each module registers its models with the admin site when imported.
from tracking.admin import clicks, jobs, keys, links, profiles
from tracking.admin.keys import API_SCOPES

__all__ = ["API_SCOPES", "clicks", "jobs", "keys", "links", "profiles"]

admin.site.site_header = "linktrack"
admin.site.site_title = "linktrack admin"
admin.site.index_title = "Links, clicks and applications"
# "View site" leads to the dashboard; the site has no page at "/".
admin.site.site_url = "/dashboard/"
