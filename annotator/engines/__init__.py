"""Models behind small protocols: segmenters (SAM, fallback), propagators (XMem, fallback), model files."""
