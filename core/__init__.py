"""The common core of Agent Playground: errors, command lines, registries, device choice, seeding, safe files and
checkpoints, run folders, checked records, and the network blocks.

Importing this package is cheap; `core.nets` imports torch, and the other modules that need it import it inside
their functions.
"""

from core.errors import PlaygroundError

__all__ = ["PlaygroundError"]
