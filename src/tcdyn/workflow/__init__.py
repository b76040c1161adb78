"""Workflows over the API, the library side of the command's everyday tasks: following a
task's or a group's log (``logs``, ``follow``, ``group_logs``), retriggering and the
guarded destructive actions (``retrigger``), the views of tasks, groups, queues and pools
(``views``), and a task made in one line (``tasks``). Each is a sans-IO flow (``flow``)
driven the same way by sync and async clients; ``tcdyn ...`` commands are thin layers over
them."""
