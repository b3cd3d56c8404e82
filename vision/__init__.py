"""The eyes: CNN perception networks for pixel observations (not built yet: see the vision issue)."""
