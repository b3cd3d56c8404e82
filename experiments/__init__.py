"""Experiments at scale on Ray: hyperparameter sweeps (`play.py tune`) and many-seed reports (`play.py seeds`).

Importing this package imports nothing heavy; Ray, torch and stable-baselines3 load inside the functions
that need them, so `python play.py --help` stays quick.
"""

COMMANDS = ("tune", "seeds")
"""The experiment kinds, which are also their `play.py` subcommands."""
