"""The interactive Textual app (textual is imported nowhere else in dmabuf_top)."""
