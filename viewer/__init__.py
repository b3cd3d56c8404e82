"""The window: one pygame viewer with a heads-up display, human input and video recording."""
