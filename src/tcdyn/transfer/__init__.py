"""Objects and artifacts moved to and from storage hosts, written once for sync and async
(``flavours``): uploads (``upload``), downloads (``download``), artifact publishing
(``artifacts``) over the storage flow (``flow``: attempts, sleeps, renewed URLs), hashing
(``hashing``), the services' and hosts' answers (``hosts``), argument checks (``checks``),
readers and targets (``targets``), and the I/O of each flavour (``sync_storage``:
http.client, or httpx through a proxy; ``aio_storage``: httpx, and aiohttp for GETs without
a proxy). Public paths: ``tcdyn.upload``,
``tcdyn.download``, ``tcdyn.artifacts`` and ``tcdyn.aio.*``."""
