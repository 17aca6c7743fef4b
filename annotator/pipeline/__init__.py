"""Jobs that use engines and write to the store: propagate, refine, re-propagate, batch."""
