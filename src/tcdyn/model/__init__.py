"""What a reference says, without I/O: the read-only models of one reference
(``reference``), the 2018 format read in today's shape (``legacy``), and the one rule for
schema names (``schema_names``)."""
