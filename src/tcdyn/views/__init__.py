"""What tcdyn shows of a deployment's state, built from API answers without I/O of its own:
a task group's timeline (``timeline``), as one HTML page (``timeline_page``) or Chrome
trace-event JSON (``trace_event``)."""
