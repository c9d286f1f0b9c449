"""``python -m dmabuf_top``: the same as the ``dmabuf-top`` command."""

from dmabuf_top.cli import main

raise SystemExit(main())
