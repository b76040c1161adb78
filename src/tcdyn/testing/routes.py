"""The local deployment's routing table: ``/api/<service>/<version>/<route>`` -> entry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from ..model.legacy import service_origin
from ..model.reference import ServiceModel
from ..references.index import ReferenceSet


@dataclass
class Route:
    """One API entry as the deployment routes it."""

    service: str
    entry_name: str
    method: str
    pattern: re.Pattern[str]
    args: tuple[str, ...]
    scopes: Any
    input: str | None = None
    output: str | None = None


class Routes:
    """Every API entry of a reference set, and the legacy service hosts they answer on."""

    def __init__(self, references: ReferenceSet) -> None:
        self.by_version: dict[tuple[str, str], list[Route]] = {}
        self.legacy: dict[str, str] = {}  # "queue.taskcluster.net" -> "queue"
        for name in references.names():
            try:
                model = references.model(name)
            except Exception:  # a malformed reference is served, not routed
                continue
            if isinstance(model, ServiceModel):
                self._add(model)
        for candidates in self.by_version.values():  # literal routes win over parameterised
            candidates.sort(key=lambda r: len(r.args))
        self.entries = {(r.service, r.entry_name): r for rs in self.by_version.values()
                        for r in rs}

    def _add(self, model: ServiceModel) -> None:
        host = service_origin(model.serviceName, model.baseUrl)
        self.legacy.setdefault(host.removeprefix("https://"), model.serviceName)
        for entry in model.entries.values():
            regex = "".join(
                re.escape(p) if isinstance(p, str) else f"(?P<{entry.args[p]}>[^/]+)"
                for p in entry.route_parts)
            self.by_version.setdefault((model.serviceName, model.apiVersion), []).append(Route(
                model.serviceName, entry.name, entry.http_method, re.compile(f"^{regex}$"),
                entry.args, entry.scopes, entry.input, entry.output))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route ``method path`` reaches and its (unquoted) parameters, or None."""
        m = re.match(r"^/api/([^/]+)/(v[0-9]+)(/.*)$", path)
        if not m:
            return None
        for route in self.by_version.get((m.group(1), m.group(2)), []):
            if route.method != method:
                continue
            found = route.pattern.match(m.group(3))
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def legacy_url(self, host: str, target: str) -> tuple[str, str] | None:
        """For a legacy service host: the URL to verify and the ``/api/...`` path to route."""
        service = self.legacy.get(host.removesuffix(":443"))
        if service is None:
            return None
        return (f"https://{host.removesuffix(':443')}{target}",
                f"/api/{service}{urlsplit(target).path}")
