"""dmabuf-top: a top for Linux dma-bufs."""

__version__ = "0.1.0"
