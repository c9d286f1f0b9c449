"""Analysis on the one Snapshot model: accounting (Rss/Pss, totals, grouping), diff,
growth suspects. Pure computation, no I/O."""
