"""Django's URL resolution of one route, repeated without building what it throws away.

``django.urls.resolve`` walks the URLconf for every request and builds a ``ResolverMatch`` at each
level it goes down (for the redirect three: its own pattern, the ``track/`` include and the root),
each merged into a new one a level up: some 116,000 CPU instructions of a buffered click's million
(``bench/README.md``), more than the click's own encoding and append to the stream.

A :class:`RoutePlan` is made once per URLconf from a real match of the route: the patterns
Django tried at each level before the one it went down (or ended) at, and that chain of patterns.
For a new path it asks the same patterns, in Django's order and with their own ``match`` (so
converters, regular expressions and prefixes answer as they do for Django), whether they match:
when each pattern tried before fails again and the chain matches again, Django's walk for this
path is step for step the walk it took for the first one, and the ``ResolverMatch`` it would
build is built here directly, ``tried`` list included. Whenever that is not so (another pattern
matches first, the chain does not match, a level captures arguments) the plan answers ``None``
and the caller resolves as Django does. A plan is made only for a route without default
arguments and is checked against the real match it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import ResolverMatch, URLPattern, URLResolver

# What a ResolverMatch says about a request; a plan's answer must agree on every one of them.
_COMPARED = (
    "func",
    "args",
    "kwargs",
    "url_name",
    "app_names",
    "app_name",
    "namespaces",
    "namespace",
    "route",
    "tried",
    "captured_kwargs",
    "extra_kwargs",
    "view_name",
    "_func_path",
)


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """How ``root`` resolves the paths of one route (see the module)."""

    root: URLResolver
    # One level per resolver on the way, the root first: the patterns Django tries there before
    # the route's next one (each must fail), and that next one (the endpoint at the last level).
    levels: tuple[tuple[tuple[Any, ...], Any], ...]
    template: ResolverMatch
    # The template's lists, typed as ResolverMatch takes them.
    app_names: list[str | None]
    namespaces: list[str | None]
    tried: list[list[Any]]

    @classmethod
    def of(cls, root: URLResolver, match: ResolverMatch) -> RoutePlan | None:
        """The plan of the route ``match`` took from ``root``, or None when it cannot have one."""
        if not match.tried:
            return None
        chain = match.tried[-1]  # the patterns Django went down, the endpoint last
        endpoint = chain[-1]
        if not isinstance(endpoint, URLPattern) or endpoint.default_args:
            return None
        levels = []
        for resolver, step in zip([root, *chain[:-1]], chain, strict=True):
            if not isinstance(resolver, URLResolver) or resolver.default_kwargs:
                return None
            patterns = list(resolver.url_patterns)
            index = next((n for n, pattern in enumerate(patterns) if pattern is step), None)
            if index is None:
                return None
            levels.append((tuple(patterns[:index]), step))
        tried = [
            [*chain[:depth], pattern]
            for depth, (before, _step) in enumerate(levels)
            for pattern in before
        ] + [list(chain)]
        if tried != match.tried:
            return None  # Django went another way than the patterns say (an empty include…)
        return cls(
            root=root,
            levels=tuple(levels),
            template=match,
            app_names=[*match.app_names],
            namespaces=[*match.namespaces],
            tried=tried,
        )

    def resolve(self, path: str) -> ResolverMatch | None:
        """Django's match for ``path`` when it takes this route, else None (resolve it anew)."""
        found = self.root.pattern.match(path)
        for before, step in self.levels:
            if not found:
                return None
            rest, args, kwargs = found
            if args or kwargs:
                return None  # a level that captures: its arguments would merge into the match
            for pattern in before:
                if pattern.pattern.match(rest):
                    return None
            found = step.pattern.match(rest)
        if not found:
            return None
        _rest, args, captured = found
        template = self.template
        # As the endpoint's URLPattern and each resolver above it build theirs: kwargs a new dict
        # of the captured ones (no level adds defaults), the captured dict itself passed on.
        return ResolverMatch(
            template.func,
            args,
            {**captured},
            template.url_name,
            self.app_names,
            self.namespaces,
            template.route,
            [list(entry) for entry in self.tried],
            captured_kwargs=captured,
            extra_kwargs={},
        )


def plan_for(root: URLResolver, path: str, match: ResolverMatch) -> RoutePlan | None:
    """The plan of the route ``root`` resolved ``path`` along (to ``match``), when there is one
    and it gives that very answer for ``path``."""
    plan = RoutePlan.of(root, match)
    if plan is None:
        return None
    again = plan.resolve(path)
    if again is None or any(getattr(again, name) != getattr(match, name) for name in _COMPARED):
        return None
    return plan
