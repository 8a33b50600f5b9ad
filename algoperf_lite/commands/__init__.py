"""The commands of ``algoperf-lite``, one module each (``run``, ``study``, ``check``,
``score``, ``report``, ``diagnose``, ``list``, ``data``): a function that takes the parsed options,
checks them and returns the exit code. The CLI (:mod:`algoperf_lite.cli`) only parses and
dispatches; the Python API (:mod:`algoperf_lite.api`) calls the same functions.

A new command is a module here, its parser and dispatch in ``cli.py``, and its page in
``docs/``."""
