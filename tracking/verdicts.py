"""The job seeker's correction of a click's automatic verdict: "this was a person" / "a machine".

The correction is stored apart from the automatic verdict, in ``classification_correction`` with
who made it and when (``corrected_by``, ``corrected_at``). While it stands, the click's
``classification`` (the column every count reads: the API, the dashboard, the CSV export, the
rollups, the ``link_analytics_view`` SQL view, the outcomes, the link's person-click cap and the
events) holds the corrected verdict; the automatic verdict is what the click's
``classification_reasons`` imply (:func:`automatic_classification`), and the rules that change a
verdict later (the burst rule, a decoy hit, ``reclassify_clicks``) change the reasons only.

A person is ``human``; a machine keeps the automatic verdict when it already was a machine's
(``bot``, ``scanner``, ``preview``) and is ``bot`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracking import classify
from tracking.models import Classification, VerdictCorrection

# What "machine" leaves as it is.
_MACHINE_CLASSES = frozenset({Classification.BOT, Classification.SCANNER, Classification.PREVIEW})
# The choices a correction form posts: the two corrections and "back to the automatic verdict".
AUTOMATIC = "automatic"
CHOICES = (VerdictCorrection.PERSON.value, VerdictCorrection.MACHINE.value, AUTOMATIC)


def automatic_classification(reasons: Sequence[str] | None) -> str | None:
    """The automatic verdict of a click from its reasons (None for a click never classified)."""
    if reasons is None:
        return None
    return classify.classification_for(list(reasons))


def effective_classification(correction: str | None, automatic: str | None) -> str | None:
    """The verdict that counts: the correction's when there is one, else the automatic one."""
    if correction == VerdictCorrection.PERSON:
        return Classification.HUMAN
    if correction == VerdictCorrection.MACHINE:
        return automatic if automatic in _MACHINE_CLASSES else Classification.BOT
    return automatic
