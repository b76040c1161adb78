"""``tcdyn.exchanges``: routing keys of Taskcluster's Pulse exchanges and the base of every
exchange class (code: ``tcdyn.client.events``)."""

from __future__ import annotations

from .client.events import BaseEvents as BaseEvents
from .client.events import Binding as Binding
from .client.events import KeyLayout as KeyLayout
from .client.events import RoutingKeyError as RoutingKeyError
from .client.events import build_routing_key as build_routing_key
from .client.events import parse_routing_key as parse_routing_key
from .client.events import schema_path as schema_path

__all__ = ["BaseEvents", "Binding", "KeyLayout", "RoutingKeyError", "build_routing_key",
           "parse_routing_key", "schema_path"]
