"""Widgets of the dmabuf-top TUI."""
