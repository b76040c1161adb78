"""An API call without I/O, shared by the sync and async clients: a client's options and
retry policy (``options``), arguments bound into a ``Call`` (``bind``), the retry loop as a
sans-IO generator (``retry``), the pager (``paging``) and what a response becomes
(``response``)."""
