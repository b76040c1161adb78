"""A local Taskcluster deployment for tests and demos (see ``tcdyn.testing.server``)."""
