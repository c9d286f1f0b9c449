"""Tests of dmabuf_top/tui/widgets/."""
