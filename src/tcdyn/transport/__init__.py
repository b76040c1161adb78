"""The HTTP edge: every HTTP request tcdyn sends goes through a transport, client or socket
made here, under its rules (the async download's aiohttp session, made in
``transfer.aio_storage``, takes its TLS context, proxy rule and failure map from here).

``base`` (the ``Transport`` / ``AsyncTransport`` protocols every transport implements),
``drive`` (``drive`` / ``adrive``: the drivers of the sans-IO flows), the transports of API
calls: ``httpcore_transport`` (httpcore's pool, the sync default), ``aiohttp_transport`` (the
async default) and ``httpx_transport`` (a user's ``client=`` or ``auth=``); ``hawk``
(signing), ``errors`` (the one map from library failures to httpx's, the one redaction),
``proxies`` (the one proxy rule), ``deadline`` (one deadline per exchange, bounded sockets),
``tls`` (the shared SSL context), ``sockets`` (wrapped httpcore backends), ``clients`` (the
httpx clients of storage hosts and reference fetches) and ``bulk`` (storage sockets).
"""
