"""Who may call an API view: an API key holding the view's scope, or a staff session holding the
admin's model permission for what the request does.

Sessions follow the admin exactly: ``view_*`` to read, ``add_*`` to create, ``change_*`` to change
and ``delete_*`` to delete, per model (DRF's ``DjangoModelPermissions`` with ``view_`` for reads),
and a deletion that would take other rows with it needs what the admin's confirmation page needs
(:func:`check_deletion`). API keys keep their scopes. Click-level personal data (IP address, session
id, user agent) is shown only to a key with ``clicks:read`` or a user with ``view_linkclick``
(:func:`may_read_personal_data`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db import models
from rest_framework import exceptions, permissions
from rest_framework.request import Request

from tracking.api.auth import SCOPE_CLICKS_READ, key_scopes
from tracking.models import APIKey

# The click fields that identify a visitor; the admin shows them to ``view_linkclick`` only.
PERSONAL_CLICK_FIELDS = ("ip_address", "session_id", "user_agent", "city")
VIEW_CLICKS_PERMISSION = "tracking.view_linkclick"

_VIEW = "%(app_label)s.view_%(model_name)s"


class ScopeOrModelPermission(permissions.DjangoModelPermissions):
    """An API key with the view's scope, or an active staff user with the model permission.

    Views name their scopes with ``read_scope`` (safe methods) and ``write_scope`` (the rest), or
    ``required_scope`` for both; a tuple means any one of them. The model is the view's
    ``queryset``'s; ``permission_method`` makes an action count as that HTTP method (``"PATCH"``
    for an action that changes a row) and ``extra_permissions`` names what else it reads.
    """

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": [_VIEW], "HEAD": [_VIEW]}
    message = "You do not have permission to perform this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method not in view.allowed_methods:
            # Let the view answer 405 rather than blame the caller's rights.
            return True
        if isinstance(request.auth, APIKey):
            return self._key_may(request, view)
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if not (user.is_active and user.is_staff):
            self.message = "Only staff users may use the API with a session."
            return False
        method = str(getattr(view, "permission_method", None) or request.method)
        perms = [
            *self.get_required_permissions(method, self._queryset(view).model),
            *getattr(view, "extra_permissions", ()),
        ]
        if not user.has_perms(perms):
            self.message = f"Your account lacks the permission {', '.join(sorted(perms))}."
            return False
        return True

    def _key_may(self, request: Request, view: Any) -> bool:
        assert isinstance(request.auth, APIKey)
        scopes = required_scopes(request, view)
        if not scopes:
            self.message = "API keys cannot use this endpoint; sign in as a staff user."
            return False
        if key_scopes(request.auth).isdisjoint(scopes):
            self.message = f"This API key lacks the {' or '.join(repr(s) for s in scopes)} scope."
            return False
        return True


def required_scopes(request: Request, view: Any) -> tuple[str, ...]:
    """The scopes of which a key needs one for this request (empty: keys may not call it)."""
    scope = getattr(view, "required_scope", None)
    if not scope:
        attribute = "read_scope" if request.method in permissions.SAFE_METHODS else "write_scope"
        scope = getattr(view, attribute, None)
    if not scope:
        return ()
    return (scope,) if isinstance(scope, str) else tuple(scope)


def may_read_personal_data(request: Request) -> bool:
    """Whether the caller may see who clicked: ``clicks:read`` for a key, else ``view_linkclick``."""
    if isinstance(request.auth, APIKey):
        return SCOPE_CLICKS_READ in key_scopes(request.auth)
    return bool(request.user.has_perm(VIEW_CLICKS_PERMISSION))


def check_deletion(request: Request, objects: Iterable[models.Model]) -> None:
    """Refuse a session's deletion that the admin would refuse (403 naming what it would take).

    The admin's confirmation page lists what a deletion cascades to and refuses it without the
    right to delete each; asking the model's admin keeps its rules (only a superuser erases a
    link's clicks) in one place. API keys are judged by their scopes alone.
    """
    if isinstance(request.auth, APIKey):
        return
    rows = list(objects)
    if not rows:
        return  # the service answers the 404
    model_admin = admin.site.get_model_admin(type(rows[0]))
    _deleted, _counts, perms_needed, protected = model_admin.get_deleted_objects(rows, request)
    if perms_needed:
        raise exceptions.PermissionDenied(
            "Deleting this also deletes "
            f"{', '.join(sorted(perms_needed))}, which your account may not delete."
        )
    if protected:
        raise exceptions.PermissionDenied("Other rows depend on this; it cannot be deleted.")
