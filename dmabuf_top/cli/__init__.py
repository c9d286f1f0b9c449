"""The command line: ``main()`` (the ``dmabuf-top`` script), one module per subcommand.

textual and adbutils are imported only on the paths that need them."""

from dmabuf_top.cli.dispatch import main

__all__ = ["main"]
