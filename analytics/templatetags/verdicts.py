"""A click's verdict correction in the dashboard's click lists: ``{% verdict_form click verdict %}``.

``click`` has ``click_id``, ``classification_correction`` and ``corrected_by``; ``verdict`` is its
classification as counted. The page's context gives ``may_correct`` (the form is shown) and ``me``
(``user:<name>``: "corrected by you"). An application's journey lists up to 300 clicks, each with
its form; as an included template each cost a template context, a URL reversed and the page's
path read again: built here, the URL comes from one reversed per page.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.template.context import Context
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_PLACEHOLDER = uuid.UUID(int=0)
_CACHED = "analytics.verdict_form"  # this page's URL prefix, hidden input and path


def _page_parts(context: Context) -> tuple[str, str, SafeString]:
    """The verdict URL with a placeholder id, the path to come back to, and the CSRF input: the
    same for every click of a page (kept in the render context, which lives for one page)."""
    cached = context.render_context.get(_CACHED)
    if cached is None:
        request = context["request"]
        token = format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
        )
        url = reverse("analytics:click-verdict", args=[_PLACEHOLDER])
        cached = (url, request.get_full_path(), token)
        context.render_context[_CACHED] = cached
    return cached  # type: ignore[no-any-return]


def _button(verdict: str, label: str) -> SafeString:
    return format_html(
        '<button type="submit" name="verdict" value="{0}" class="link-button" '
        'data-verdict="{0}">{1}</button>',
        verdict,
        label,
    )


@register.simple_tag(takes_context=True)
def verdict_form(context: Context, click: Any, verdict: str | None) -> SafeString:
    correction = _get(click, "classification_correction")
    parts: list[SafeString] = []
    if correction:
        by = _get(click, "corrected_by")
        if by == context.get("me"):
            who = "corrected by you"
        else:
            # As the template filters wrote it (``cut`` reads None as "None").
            who = "corrected by " + (str(by).replace("user:", "") or "someone")
        parts.append(
            format_html(' <span class="corrected" data-corrected="{}">{}</span>', correction, who)
        )
    if context.get("may_correct"):
        url, path, token = _page_parts(context)
        buttons = [
            _button("machine", "This was a machine")
            if verdict == "human"
            else _button("person", "This was a person")
        ]
        if correction:
            buttons.append(mark_safe(" "))
            buttons.append(_button("automatic", "Undo"))
        parts.append(
            format_html(
                ' <form method="post" action="{}" class="verdict-form" data-verdict-form>{}'
                '<input type="hidden" name="next" value="{}">{}</form>',
                url.replace(str(_PLACEHOLDER), str(_get(click, "click_id"))),
                token,
                path,
                mark_safe("".join(buttons)),  # noqa: S308 - built by format_html
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - built by format_html


def _get(click: Any, name: str) -> Any:
    return click.get(name) if isinstance(click, dict) else getattr(click, name, None)
