"""The click pipeline, one way down (see docs/clicks.md, "The path of a click").

Request path: :mod:`~tracking.clicks.capture` (request → fields + signals) →
:mod:`~tracking.clicks.ratelimit` → :mod:`~tracking.clicks.record` (direct INSERT | stream append |
spool). Writer path: :mod:`~tracking.clicks.writer` (stream → decode → build → classify → insert →
follow-ups). Below them: :mod:`~tracking.clicks.burst`, :mod:`~tracking.clicks.stream`,
:mod:`~tracking.clicks.spool`. Each module imports only modules below it; this package imports
nothing, so that ``from tracking.clicks import stream`` never loads the rest.
"""
