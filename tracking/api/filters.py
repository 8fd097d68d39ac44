"""Query-string filters of the resource API, applied from validated ``…FilterInput`` data."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tracking.models import Job, JobApplication, LinkClick, TrackedLink


def filter_links(queryset: QuerySet[TrackedLink], params: dict[str, Any]) -> QuerySet[TrackedLink]:
    if "job" in params:
        queryset = queryset.filter(job_id=params["job"])
    if "application" in params:
        queryset = queryset.filter(application_id=params["application"])
    if "link_function" in params:
        queryset = queryset.filter(link_function=params["link_function"])
    if "link_type" in params:
        queryset = queryset.filter(link_type=params["link_type"])
    if params.get("active") is True:
        # NULL is_active counts as active (the seed's default).
        queryset = queryset.exclude(is_active=False)
    elif params.get("active") is False:
        queryset = queryset.filter(is_active=False)
    if "created_after" in params:
        queryset = queryset.filter(created_at__gte=params["created_after"])
    if "created_before" in params:
        queryset = queryset.filter(created_at__lt=params["created_before"])
    if params.get("search"):
        term = params["search"]
        queryset = queryset.filter(
            Q(tracking_id__icontains=term)
            | Q(original_url__icontains=term)
            | Q(description__icontains=term)
        )
    return queryset


def filter_clicks(queryset: QuerySet[LinkClick], params: dict[str, Any]) -> QuerySet[LinkClick]:
    if "start" in params:
        queryset = queryset.filter(clicked_at__gte=params["start"])
    if "end" in params:
        queryset = queryset.filter(clicked_at__lt=params["end"])
    if "source" in params:
        queryset = queryset.filter(click_source=params["source"])
    if "classification" in params:
        queryset = queryset.filter(classification=params["classification"])
    if "job" in params:
        queryset = queryset.filter(tracking__job_id=params["job"])
    if "application" in params:
        queryset = queryset.filter(tracking__application_id=params["application"])
    return queryset


def filter_jobs(queryset: QuerySet[Job], params: dict[str, Any]) -> QuerySet[Job]:
    if params.get("search"):
        term = params["search"]
        queryset = queryset.filter(Q(title__icontains=term) | Q(company_name__icontains=term))
    return queryset


def filter_applications(
    queryset: QuerySet[JobApplication], params: dict[str, Any]
) -> QuerySet[JobApplication]:
    if "job" in params:
        queryset = queryset.filter(job_id=params["job"])
    if "status" in params:
        queryset = queryset.filter(status=params["status"])
    return queryset
