"""The table: its columns, order and filter, layout, rows, state, paint and widget."""
