"""Tests of dmabuf_top/tui/screens/."""
