"""Who a request is from and what it may do: credentials and temporary credentials
(``credentials``), bewits (``bewit``), where a client's credentials come from and the one
rule for an async provider (``provider``), scope expressions (``scopes``,
``service_scopes``). Public paths: ``tcdyn.credentials``, ``tcdyn.scopes``."""
