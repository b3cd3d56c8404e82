"""The common core of Agent Playground: errors, registries, device choice, seeding, run folders.

Importing this package is cheap: modules that need torch import it inside their functions.
"""

from core.errors import PlaygroundError

__all__ = ["PlaygroundError"]
