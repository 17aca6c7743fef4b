"""Pure-Python core: video access, masks, the project store, import/export. No Qt here."""
