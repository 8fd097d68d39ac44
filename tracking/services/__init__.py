"""The one write path for links, clicks, jobs and applications (seed 001's ``LinkTracker``).

Views, the API, the admin and management commands call these functions; nothing else creates or
changes ``link_tracking`` and ``link_clicks`` rows. Every function is keyword-only and validates its
input before touching the database, raising a :class:`ServiceError` subclass that names the field.

One module per subject, re-exported here so that ``from tracking import services`` is the only
import a caller needs: :mod:`~tracking.services.errors`, :mod:`~tracking.services.validation`
(column limits, shared patterns), :mod:`~tracking.services.links` (links and link packages),
:mod:`~tracking.services.clicks`, :mod:`~tracking.services.jobs` (jobs and applications) and
:mod:`~tracking.services.privacy` (anonymization, retention, erasure). The submodules import each
other directly, never through this package.

Return shapes, one per kind of function:

- seed 001's entry points return the seed's dicts: :func:`create_tracked_link` the link's
  :meth:`~tracking.models.TrackedLink.to_dict` (with ``tracking_id`` and ``redirect_url``),
  :func:`create_job_application_links` ``{function: redirect_url}``, the ``record_*`` functions
  ``{"click_id", "clicked_at"}`` (see :mod:`~tracking.services.clicks`);
- functions that fetch, create or change one object otherwise return the model instance
  (:func:`get_link`, :func:`update_tracked_link`, :func:`set_link_active`, :func:`create_job`,
  :func:`update_application`, …);
- deletions return nothing; privacy runs return counts.
"""

from __future__ import annotations

from tracking.services.clicks import (
    build_click,
    detect_click_source,
    insert_click_batch,
    insert_clicks,
    insert_new_click,
    new_click_id,
    record_click,
    record_clicks,
    record_reported_click,
)
from tracking.services.errors import (
    Conflict,
    LinkInactive,
    NotFound,
    ServiceError,
    ValidationFailed,
    describe_database_error,
)
from tracking.services.jobs import (
    change_application_status,
    company_names_changed,
    create_application,
    create_job,
    delete_application,
    delete_job,
    get_application,
    get_job,
    record_initial_status,
    status_history,
    update_application,
    update_job,
)
from tracking.services.links import (
    DECOY_FUNCTION,
    JOB_URL_FUNCTIONS,
    LINK_SETTINGS,
    PACKAGE_CREATED_BY,
    application_decoy_link,
    clean_link_settings,
    create_job_application_links,
    create_tracked_link,
    delete_tracked_link,
    generate_tracking_id,
    get_link,
    package_links,
    redirect_url_for,
    set_link_active,
    update_tracked_link,
    validate_link_input,
    validate_profile_link,
)
from tracking.services.privacy import (
    ANONYMIZED_CLICK_FIELDS,
    PRIVACY_BATCH_SIZE,
    SESSION_PSEUDONYM_PREFIX,
    ErasureCounts,
    ErasureRequest,
    ProgressCallback,
    anonymize_clicks,
    clicks_to_anonymize,
    clicks_to_purge,
    count_erasure,
    erase_personal_data,
    purge_clicks,
    retention_cutoff,
    session_pseudonym,
)
from tracking.services.rules import clean_rule, link_rules, replace_link_rules, rule_warnings
from tracking.services.validation import (
    CREATED_BY_MAX,
    IDENTIFIER_MAX,
    METADATA_MAX_BYTES,
    METADATA_MAX_KEYS,
    REFERRER_MAX,
    RESERVED_TRACKING_IDS,
    SESSION_ID_MAX,
    TRACKING_ID_MAX,
    URL_MAX,
    USER_AGENT_MAX,
    is_safe_identifier,
    is_valid_tracking_id,
    validate_destination_url,
    validate_identifier,
)
from tracking.services.verdicts import correct_click_verdict

__all__ = [
    "ANONYMIZED_CLICK_FIELDS",
    "CREATED_BY_MAX",
    "DECOY_FUNCTION",
    "IDENTIFIER_MAX",
    "JOB_URL_FUNCTIONS",
    "LINK_SETTINGS",
    "METADATA_MAX_BYTES",
    "METADATA_MAX_KEYS",
    "PACKAGE_CREATED_BY",
    "PRIVACY_BATCH_SIZE",
    "REFERRER_MAX",
    "RESERVED_TRACKING_IDS",
    "SESSION_ID_MAX",
    "SESSION_PSEUDONYM_PREFIX",
    "TRACKING_ID_MAX",
    "URL_MAX",
    "USER_AGENT_MAX",
    "Conflict",
    "ErasureCounts",
    "ErasureRequest",
    "LinkInactive",
    "NotFound",
    "ProgressCallback",
    "ServiceError",
    "ValidationFailed",
    "anonymize_clicks",
    "application_decoy_link",
    "build_click",
    "change_application_status",
    "clean_link_settings",
    "clean_rule",
    "clicks_to_anonymize",
    "clicks_to_purge",
    "company_names_changed",
    "correct_click_verdict",
    "count_erasure",
    "create_application",
    "create_job",
    "create_job_application_links",
    "create_tracked_link",
    "delete_application",
    "delete_job",
    "delete_tracked_link",
    "describe_database_error",
    "detect_click_source",
    "erase_personal_data",
    "generate_tracking_id",
    "get_application",
    "get_job",
    "get_link",
    "insert_click_batch",
    "insert_clicks",
    "insert_new_click",
    "is_safe_identifier",
    "is_valid_tracking_id",
    "link_rules",
    "new_click_id",
    "package_links",
    "purge_clicks",
    "record_click",
    "record_clicks",
    "record_initial_status",
    "record_reported_click",
    "redirect_url_for",
    "replace_link_rules",
    "retention_cutoff",
    "rule_warnings",
    "session_pseudonym",
    "set_link_active",
    "status_history",
    "update_application",
    "update_job",
    "update_tracked_link",
    "validate_destination_url",
    "validate_identifier",
    "validate_link_input",
    "validate_profile_link",
]
