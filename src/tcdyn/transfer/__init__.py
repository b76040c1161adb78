"""Objects and artifacts moved to and from storage hosts: uploads, downloads and artifact
publishing, sync and async (``upload``, ``download``, ``artifacts``, their ``aio_`` twins),
what they share (``common``) and the async download's aiohttp GET (``aio_storage``). Public
paths: ``tcdyn.upload``, ``tcdyn.download``, ``tcdyn.artifacts`` and ``tcdyn.aio.*``."""
