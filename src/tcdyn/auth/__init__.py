"""Who a request is from and what it may do: credentials, temporary credentials and bewits
(``credentials``), scope expressions (``scopes``, ``service_scopes``) and the
``TASKCLUSTER_*`` environment (``environment``). Public paths: ``tcdyn.credentials``,
``tcdyn.scopes``."""
