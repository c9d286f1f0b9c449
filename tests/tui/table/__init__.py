"""Tests of dmabuf_top/tui/table/."""
