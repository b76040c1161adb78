"""The HTTP edge: the only code that talks to sockets. The drivers of the sans-IO flows
(``drive``), the transports of API calls over httpcore's pool (``httpcore_transport``, the
sync default), aiohttp (``aiohttp_transport``, the async default) and httpx
(``httpx_transport``, for a user's ``client=``/``auth=``), Hawk signing (``hawk``), deadlines
and the sockets they bound (``deadline``), the shared TLS context (``tls``), the proxy rule
(``proxies``), the httpx clients of storage hosts and reference fetches (``clients``) and the
bulk sockets of storage transfers (``bulk``)."""
