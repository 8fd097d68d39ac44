"""``COPY`` text of rows whose texts need no escaping is joined as it comes; any row with a
character ``COPY`` reads as structure is still escaped value by value (``tracking.dbcopy``)."""

from __future__ import annotations

import pytest

from tests.factories import build_click, make_link
from tracking import dbcopy
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

# Each would read as structure unescaped; "\\N" alone would read as NULL.
TEXTS = ["\\N", "back\\slash", "tab\there", "line\nbreak", "return\rhere", "plain"]


def _clicks() -> list[LinkClick]:
    link = make_link()
    clicks = []
    for n, text in enumerate(TEXTS * 4):
        click = build_click(link, classification="human", ip_address="198.51.100.7")
        # Set as they are (the service layer would drop the control characters), beside NULLs.
        click.user_agent = text
        click.browser = None if n % 2 else text
        click.os = None
        clicks.append(click)
    return clicks


def test_a_text_that_looks_like_structure_is_escaped_beside_nulls() -> None:
    clicks = _clicks()
    lines = dbcopy.rows_text(LinkClick, clicks).split("\n")
    columns = [field.attname for field in LinkClick._meta.concrete_fields]
    agent, browser, os_ = (columns.index(name) for name in ("user_agent", "browser", "os"))
    for line, click in zip(lines, clicks, strict=False):
        values = line.split("\t")
        assert len(values) == len(columns)
        escaped = dbcopy._text(click.user_agent)
        assert values[agent] == escaped
        assert values[browser] == ("\\N" if click.browser is None else escaped)
        assert values[os_] == "\\N"


@pytest.mark.postgres
def test_texts_that_look_like_structure_are_stored_as_they_were() -> None:
    clicks = _clicks()
    dbcopy.insert_ignoring_conflicts(LinkClick, clicks)
    stored = dict(LinkClick.objects.values_list("click_id", "user_agent"))
    assert stored == {click.click_id: click.user_agent for click in clicks}
    assert LinkClick.objects.filter(user_agent="\\N").count() == 4
