"""The league's file: the match records of one two-player game, `runs/league/<game>.json`.

Every change is a read-modify-write under an OS file lock, written atomically: a league killed mid-run loses at
most the match in play, and a league run and a rated human game writing at once never lose each other's
results. The file may come from someone else, so it is read with a size cap and every field is checked; a file
that fails the checks is refused, never overwritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import PlaygroundError
from core.files import read_json, write_json
from core.schema import Fields

FORMAT_VERSION = 1
LEAGUE_DIR = "league"
KINDS = ("league", "human")  # matches the league plays, and games a person played in the viewer
MAX_MATCHES = 100_000
MAX_GAMES_PER_MATCH = 10_000
PLAYER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}(/[A-Za-z0-9][A-Za-z0-9_.\-]{0,119})?")
PERSON_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}")
RESERVED_NAMES = ("scripted", "random")


def check_player_name(name: str) -> str:
    """A person's name for the ratings: letters, digits, `_.-`, up to 40, not a built-in player's.

    Raises:
        PlaygroundError: Any other name.
    """
    if not PERSON_NAME.fullmatch(name) or name in RESERVED_NAMES:
        raise PlaygroundError(f"--player {name!r:.60}: use 1 to 40 letters, digits, '_', '.' or '-' (not "
                              f"{' or '.join(RESERVED_NAMES)}).")
    return name


@dataclass(frozen=True)
class MatchRecord:
    """A match: games between two players, each game's result from `first`'s side.

    Args:
        first: A player's name.
        second: The other's.
        first_id: `first`'s fingerprint when it played (a saved agent's weights hash; empty for people).
        second_id: `second`'s.
        seed: The seed of the match's games.
        scores: `first`'s score in each game: 1 a win, 0.5 a draw, 0 a loss.
        kind: "league" (played by `play.py league`) or "human" (a person in the viewer).
    """

    first: str
    second: str
    first_id: str
    second_id: str
    seed: int
    scores: tuple[float, ...]
    kind: str = "league"

    def key(self) -> tuple:
        """What makes two league matches the same match: players (as they were), seed and length."""
        players = tuple(sorted([(self.first, self.first_id), (self.second, self.second_id)]))
        return self.kind, players, self.seed, len(self.scores)

    def to_json(self) -> dict:
        return {"first": self.first, "second": self.second, "first_id": self.first_id, "second_id": self.second_id,
                "seed": self.seed, "scores": list(self.scores), "kind": self.kind}


@dataclass
class League:
    """What a league file holds: its game and its matches, oldest first."""

    game: str
    matches: list[MatchRecord] = field(default_factory=list)

    def has(self, match: MatchRecord) -> bool:
        """Whether this match was played already (a resumed league skips it)."""
        key = match.key()
        return any(played.key() == key for played in self.matches)


def league_path(runs_dir: Path, game: str) -> Path:
    """Where the league of `game` is kept."""
    return Path(runs_dir) / LEAGUE_DIR / f"{game}.json"


def read_league(path: Path, game: str) -> League:
    """The league in `path` (an empty one when there is no file yet), every field checked.

    Raises:
        PlaygroundError: A damaged or hostile file, or the league of another game.
    """
    if not path.exists():
        return League(game)
    fields = Fields(read_json(path, "league file"), str(path))
    if fields.data.get("format") != FORMAT_VERSION:
        raise PlaygroundError(f"{path} has format {fields.data.get('format')!r:.40}; this version reads format "
                              f"{FORMAT_VERSION}. Move it away to start a new league.")
    if fields.text("game", 40) != game:
        raise PlaygroundError(f"{path} is the league of {fields.data['game']!r}, not {game}. Move it away.")
    matches = fields.data.get("matches")
    if not isinstance(matches, list) or len(matches) > MAX_MATCHES:
        raise fields.fail("matches", f"a list of at most {MAX_MATCHES:,} matches", matches)
    return League(game, [_match(entry, f"{path} match {number}") for number, entry in enumerate(matches, 1)])


def _match(entry: object, where: str) -> MatchRecord:
    fields = Fields(entry, where)
    names = [fields.text(key, 161) for key in ("first", "second")]
    if not all(PLAYER_NAME.fullmatch(name) for name in names) or names[0] == names[1]:
        raise fields.fail("first", "two different player names (letters, digits, '_.-', one '/')", names)
    scores = fields.numbers("scores", max_length=MAX_GAMES_PER_MATCH)
    if not scores or any(score not in (0.0, 0.5, 1.0) for score in scores):
        raise fields.fail("scores", "a non-empty list of 1 (won), 0.5 (drawn) and 0 (lost)", scores)
    return MatchRecord(names[0], names[1], fields.text("first_id", 64), fields.text("second_id", 64),
                       fields.integer("seed", 0, 2**63 - 1), tuple(scores), fields.text("kind", choices=KINDS))


def write_league(path: Path, league: League) -> None:
    """Write the league atomically."""
    write_json(path, {"format": FORMAT_VERSION, "game": league.game,
                      "matches": [match.to_json() for match in league.matches]})


@contextlib.contextmanager
def updating_league(path: Path, game: str) -> Iterator[League]:
    """Hold the league file's lock, yield its league to change, and write it back when the block succeeds.

    Raises:
        PlaygroundError: The file cannot be read (see `read_league`) or its folder cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise PlaygroundError(f"the league file {path} cannot be written ({error.strerror or error}).") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # waits for another writer's one short update
        league = read_league(path, game)
        yield league
        write_league(path, league)
    finally:
        os.close(descriptor)


def record_match(path: Path, match: MatchRecord) -> bool:
    """Add a match to the league in `path` unless it was played already; returns whether it was added."""
    with updating_league(path, _game_of(path)) as league:
        if match.kind == "league" and league.has(match):
            return False
        if len(league.matches) >= MAX_MATCHES:
            raise PlaygroundError(f"{path} holds {MAX_MATCHES:,} matches, the most a league file keeps. Move it "
                                  "away to start a new league.")
        league.matches.append(match)
        return True


def _game_of(path: Path) -> str:
    return path.stem
