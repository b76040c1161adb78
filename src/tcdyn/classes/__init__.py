"""How a reference becomes a class: the metaclass and its descriptors (``meta``), what a
built class knows of its deployment (``context``), and a schema's outline for help texts
(``outline``)."""
