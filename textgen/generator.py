"""Sampling text from a trained character LSTM, carrying the LSTM state one character at a time."""

from __future__ import annotations

from pathlib import Path

import torch

from core.errors import PlaygroundError
from core.nets import flush_denormals
from textgen.model import CharLSTM
from textgen.vocab import Vocabulary


def check_sampling_args(length: int, temperature: float, top_k: int | None) -> None:
    """Refuse a length below 1, a negative temperature or a top-k below 1 with a PlaygroundError."""
    if length < 1:
        raise PlaygroundError(f"--length {length}: the length must be at least 1 character.")
    if not temperature >= 0:  # also catches NaN
        raise PlaygroundError(f"--temperature {temperature}: temperatures must be 0 (greedy) or above.")
    if top_k is not None and top_k < 1:
        raise PlaygroundError(f"--top-k {top_k}: top-k must be at least 1 (or left out for no limit).")


@torch.no_grad()
def sample(
    model: CharLSTM,
    vocab: Vocabulary,
    prime: str,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> str:
    """Continue `prime` by `length` characters.

    Args:
        model: The trained model.
        vocab: Its vocabulary.
        prime: The text to start from; must be non-empty and use only vocabulary characters.
        length: How many characters to generate.
        temperature: Softmax temperature; 0 picks the most likely character (greedy).
        top_k: Sample only among the k most likely characters; None for all.
        generator: The random number generator (for reproducible samples); None for torch's global one.

    Returns:
        The `length` generated characters (without the prime).
    """
    check_sampling_args(length, temperature, top_k)
    if not prime:
        raise PlaygroundError("the prime is empty; give at least one character to start from.")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    # Read the whole prime once; from then on only the new character and the carried state go in.
    idx = torch.tensor([vocab.encode(prime)], dtype=torch.long, device=device)
    logits, _, state = model(idx)
    out: list[int] = []
    for _ in range(length):
        # Scores for the next character after everything read so far.
        step_logits = logits[0, -1].double()  # float64: a tiny temperature would round to 0 in float32
        if not bool(torch.isfinite(step_logits).all()):
            raise PlaygroundError("the model scores characters as NaN or infinite; its weights are broken. Retrain.")
        if temperature == 0:
            next_id = int(torch.argmax(step_logits))
        else:
            # Shift the best score to 0 first: softmax does not change, and a tiny temperature then sends the
            # others to -inf (probability 0) instead of overflowing to inf - inf = NaN.
            step_logits = (step_logits - step_logits.max()) / temperature
            if top_k is not None and top_k < step_logits.numel():
                # Keep the k best; the rest get probability zero.
                kth = torch.topk(step_logits, top_k).values[-1]
                step_logits = step_logits.masked_fill(step_logits < kth, float("-inf"))
            probs = torch.softmax(step_logits, dim=-1)
            next_id = int(torch.multinomial(probs, 1, generator=generator))
        out.append(next_id)
        # Feed the chosen character back in, continuing from the carried state.
        logits, _, state = model(torch.tensor([[next_id]], device=device), state=state)
    model.train(was_training)
    return vocab.decode(out)


class Generator:
    """A trained text generator: a model and its vocabulary, ready to write.

    Args:
        model: The trained CharLSTM.
        vocab: Its vocabulary.
        run_dir: The run folder it came from, if any.
    """

    def __init__(self, model: CharLSTM, vocab: Vocabulary, run_dir: Path | None = None) -> None:
        self.model = model.eval()
        self.vocab = vocab
        self.run_dir = run_dir

    @property
    def device(self) -> torch.device:
        """Where the model lives."""
        return next(self.model.parameters()).device

    def generate(
        self,
        prime: str,
        length: int = 400,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
    ) -> str:
        """Write `length` characters that continue `prime`.

        Args:
            prime: The text to start from (vocabulary characters only).
            length: How many characters to write.
            temperature: 0 for greedy, 1 for the model's own distribution, higher for wilder text.
            top_k: Sample only among the k most likely characters.
            seed: Seed for a reproducible sample; None draws from torch's global generator.

        Returns:
            The generated characters, without the prime.
        """
        rng = None
        if seed is not None:
            rng = torch.Generator(device=self.device)
            rng.manual_seed(seed)
        return sample(self.model, self.vocab, prime, length, temperature, top_k, rng)


def load_generator(
    run: str | Path | None = None, runs_dir: str | Path = "runs", device: str = "auto", which: str = "best"
) -> Generator:
    """Load a trained generator from a run folder.

    Args:
        run: The run folder; None for the newest run under runs_dir/textgen with a best checkpoint.
        runs_dir: The root of all runs.
        device: "auto", "cpu" or "cuda".
        which: "best" (lowest validation loss) or "latest".

    Returns:
        The Generator.
    """
    from core.device import resolve_device
    from textgen.checkpoint import BEST_FILE, LATEST_FILE, find_latest_run, load_model

    needs = BEST_FILE if which == "best" else LATEST_FILE
    run_dir = find_latest_run(runs_dir, needs) if run is None else Path(run)
    if not run_dir.is_dir():
        raise PlaygroundError(f"run folder {run_dir} does not exist. Give a folder under runs/textgen/.")
    flush_denormals()
    model, vocab, _ = load_model(run_dir, which, resolve_device(device, prefer_gpu=False))
    return Generator(model, vocab, run_dir)
