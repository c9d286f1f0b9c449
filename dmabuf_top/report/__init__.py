"""Plain-text and data output: view columns, one table aligner, the ``--once`` tables,
summary lines, diff and suspects reports."""
