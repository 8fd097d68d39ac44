"""Admin form fields, widgets and list filters shared by several admin pages.

``link_type`` is one choice with an "Other" escape on tracked links and profile links alike; the
active filter knows that a NULL ``is_active`` (plain SQL) means active.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin import SimpleListFilter
from django.db.models import QuerySet
from django.http import HttpRequest

from tracking import services
from tracking.models import LinkType

OTHER = "__other__"


class ChoiceOrOtherWidget(forms.MultiWidget):
    """A select of the standard values, and a text box for one's own when "Other" is chosen.

    ``static/js/choice_or_other.js`` shows the text box only while "Other" is selected.
    """

    def __init__(self, choices: list[tuple[str, str]], *, placeholder: str) -> None:
        self.known = {value for value, _label in choices}
        select = forms.Select(
            choices=[("", "---------"), *choices, (OTHER, "Other (type it)")],
            attrs={"data-choice-or-other": "select"},
        )
        text = forms.TextInput(
            attrs={"placeholder": placeholder, "size": 24, "data-choice-or-other": "other"}
        )
        super().__init__((select, text))

    class Media:
        js = ("js/choice_or_other.js",)

    def decompress(self, value: Any) -> list[Any]:
        if not value:
            return ["", ""]
        return [value, ""] if value in self.known else [OTHER, value]

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        # A single value (a script, or a form posted without the two parts) is accepted as is.
        if name in data:
            return self.decompress(data.get(name))
        return super().value_from_datadict(data, files, name)


class ChoiceOrOtherField(forms.MultiValueField):
    """One of the standard values, or one's own (checked by the service like any value)."""

    def __init__(self, choices: list[tuple[str, str]], *, placeholder: str, **kwargs: Any) -> None:
        fields = (
            forms.ChoiceField(choices=[("", ""), *choices, (OTHER, OTHER)], required=False),
            forms.CharField(required=False, max_length=services.IDENTIFIER_MAX),
        )
        super().__init__(
            fields,
            require_all_fields=False,
            widget=ChoiceOrOtherWidget(choices, placeholder=placeholder),
            **kwargs,
        )

    def compress(self, data_list: list[Any]) -> str:
        choice, other = [*data_list, "", ""][:2]
        if choice == OTHER or (not choice and other):
            if not other:
                raise forms.ValidationError("Type your own value, or choose one from the list.")
            return str(other).strip()
        return str(choice or "")


def link_type_field(**kwargs: Any) -> ChoiceOrOtherField:
    """``link_type`` on tracked links and on profile links alike."""
    return ChoiceOrOtherField(
        list(LinkType.choices),
        placeholder="your own: letters, digits, _ or -",
        label="Link type",
        help_text=(
            "What kind of destination this is; analytics group links by it. Choose Other to "
            "name your own."
        ),
        **kwargs,
    )


class ActiveFilter(SimpleListFilter):
    """Active or not: ``is_active`` is NULL only in rows written by plain SQL, and NULL is active
    (the seed's default), so there is no third "unknown" state to offer."""

    title = "active"
    parameter_name = "active"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.exclude(is_active=False)
        if self.value() == "no":
            return queryset.filter(is_active=False)
        return queryset
