"""Screens of the dmabuf-top TUI."""
