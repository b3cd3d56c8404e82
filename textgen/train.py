"""Training the character LSTM: stateful truncated BPTT, periodic validation, best and latest checkpoints."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.errors import PlaygroundError
from core.nets import flush_denormals
from core.optimizers import eager
from textgen import checkpoint as ckpt
from textgen import resume
from textgen.corpus import read_corpus, resolve_corpus, split_corpus
from textgen.data import StreamBatcher, evaluate
from textgen.generator import sample
from textgen.model import CharLSTM, CharLSTMConfig
from textgen.presets import TrainPreset
from textgen.vocab import Vocabulary

SAMPLE_CHARS = 300


@dataclass
class TrainResult:
    """What a training session reached.

    Args:
        run_dir: The run folder.
        step: The global step at the end.
        best_val: The best periodic validation loss (nats/char).
        final_val: The loss on the whole held-out text at the end (None when interrupted).
        chars_per_second: Training throughput of this session.
        interrupted: Whether Ctrl-C ended the session.
        evals: (elapsed seconds, step, validation loss) of every evaluation in this session.
    """

    run_dir: Path
    step: int
    best_val: float
    final_val: float | None
    chars_per_second: float
    interrupted: bool = False
    evals: list[tuple[float, int, float]] = field(default_factory=list)


def learning_rate(preset: TrainPreset, step: int, progress: float) -> float:
    """Linear warm-up, then cosine decay to lr * min_lr_ratio as `progress` goes from 0 to 1."""
    warm = min(1.0, (step + 1) / max(1, preset.warmup_steps))
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return preset.lr * warm * (preset.min_lr_ratio + (1.0 - preset.min_lr_ratio) * cosine)


def make_optimizer(model: CharLSTM, preset: TrainPreset) -> torch.optim.Optimizer:
    """AdamW with weight decay on the matrices only."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": preset.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return eager(torch.optim.AdamW)(groups, lr=preset.lr, betas=(0.9, 0.99))


@dataclass
class _Session:
    """The mutable state of one training session (what --resume restores lives in `trainer`)."""

    run_dir: Path
    model: CharLSTM
    vocab: Vocabulary
    optimizer: torch.optim.Optimizer
    preset: TrainPreset
    trainer: dict[str, Any]
    train_ids: torch.Tensor
    val_ids: torch.Tensor
    device: torch.device


def _prepare(
    corpus: str, preset: TrainPreset, device: torch.device, runs_dir: str | Path, resume_dir: Path | None, seed: int
) -> _Session:
    if resume_dir is not None:
        model, vocab, checkpoint = ckpt.load_model(resume_dir, "latest", device)
        where = f"checkpoint {resume_dir / ckpt.LATEST_FILE}"
        trainer, preset = resume.read_trainer(checkpoint, where, preset, model.config)
        text = read_corpus(trainer["corpus"])
        missing = vocab.unknown(text)
        if missing:
            raise PlaygroundError(f"the corpus {trainer['corpus']} changed since the run started; retrain.")
        run_dir = resume_dir
    else:
        preset.check()  # within textgen.limits: a run this writes can be loaded again
        text = read_corpus(resolve_corpus(corpus))
        vocab = Vocabulary.from_text(text)
        config = CharLSTMConfig(vocab.size, preset.embed_size, preset.hidden_size, preset.num_layers, preset.dropout)
        model = CharLSTM(config).to(device)
        from core.runs import new_run_dir

        run_dir = new_run_dir(runs_dir, "textgen", tag=f"s{seed}")
        trainer = {"step": 0, "best_val": math.inf, "elapsed_s": 0.0, "chars": 0, "seed": seed}
        trainer["corpus"] = str(Path(resolve_corpus(corpus)).resolve())
    train_text, val_text = split_corpus(text, preset.seq_len)
    model.train()
    optimizer = make_optimizer(model, preset)
    if resume_dir is not None:
        optimizer.load_state_dict(resume.optimizer_state(checkpoint, optimizer, where))
    else:
        ckpt.save_model_files(run_dir, model.config, vocab)
    trainer["preset"] = preset.to_dict()
    as_ids = lambda part: torch.tensor(vocab.encode(part), dtype=torch.long)  # noqa: E731
    return _Session(run_dir, model, vocab, optimizer, preset, trainer, as_ids(train_text), as_ids(val_text), device)


def _budget(session: _Session, resumed: bool) -> tuple[float | None, int | None]:
    """Total time (s) and step budgets of the whole run, counting what earlier sessions used."""
    preset, trainer = session.preset, session.trainer
    end_s = None if preset.minutes is None else trainer["elapsed_s"] + preset.minutes * 60.0
    end_step = None if preset.steps is None else trainer["step"] + preset.steps
    if resumed and preset.minutes is None and preset.steps is None:
        end_s, end_step = trainer.get("end_s"), trainer.get("end_step")
        finished = (end_s is not None and trainer["elapsed_s"] >= end_s) or (
            end_step is not None and trainer["step"] >= end_step
        )
        if finished:
            raise PlaygroundError(
                f"the run {session.run_dir} already used its budget; give --minutes N or --steps N to train on."
            )
    if end_s is None and end_step is None:
        raise PlaygroundError("give a budget: --minutes N or --steps N.")
    trainer["end_s"], trainer["end_step"] = end_s, end_step
    return end_s, end_step


def train(
    corpus: str,
    preset: TrainPreset,
    device: torch.device,
    runs_dir: str | Path = "runs",
    resume_dir: Path | None = None,
    seed: int = 0,
    progress: bool = True,
    argv: Sequence[str] | None = None,
    eval_at_s: Sequence[float] = (),
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train (or resume) a character LSTM and keep its best and latest checkpoints in a run folder.

    Args:
        corpus: "shakespeare" or a path to a UTF-8 text file (ignored when resuming).
        preset: The recipe; when resuming, only its minutes and steps count (the run keeps its own recipe).
        device: Where to train.
        runs_dir: The root of all runs; the run goes to runs_dir/textgen/<run>/.
        resume_dir: A run folder to resume from its latest checkpoint, or None for a new run.
        seed: The random seed.
        progress: Show a progress bar.
        argv: The command line to record in the run folder.
        eval_at_s: Extra evaluations when the run's elapsed training time crosses these marks (seconds).
        log: Where to print one-line messages.

    Returns:
        A TrainResult.
    """
    from core.runs import write_command_line
    from core.seeding import seed_everything

    flush_denormals()  # denormal floats make CPU LSTM steps up to 30x slower
    seed_everything(seed)
    session = _prepare(corpus, preset, device, runs_dir, resume_dir, seed)
    if resume_dir is not None:
        torch.manual_seed(seed + session.trainer["step"])
    end_s, end_step = _budget(session, resume_dir is not None)
    if argv is not None:
        write_command_line(session.run_dir, list(argv))
    log(
        f"{'resuming' if resume_dir else 'training'} {session.model.num_parameters():,} parameters on "
        f"{device}, run folder {session.run_dir}"
    )
    return _loop(session, end_s, end_step, progress, sorted(eval_at_s), log)


def _loop(
    s: _Session,
    end_s: float | None,
    end_step: int | None,
    progress: bool,
    eval_marks: list[float],
    log: Callable[[str], None],
) -> TrainResult:
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    trainer, preset, model = s.trainer, s.preset, s.model
    start_step, start_elapsed = trainer["step"], trainer["elapsed_s"]
    writer = SummaryWriter(str(s.run_dir), purge_step=start_step + 1 if start_step else None)
    if not start_step:
        table = "\n".join(f"|{key}|{value}|" for key, value in preset.to_dict().items())
        writer.add_text("hyperparameters", f"|param|value|\n|-|-|\n{table}", 0)
    batcher = StreamBatcher(s.train_ids.to(s.device), preset.batch_size, preset.seq_len)
    eval_ids = s.val_ids[: preset.eval_chars] if preset.eval_chars else s.val_ids
    marks = [mark for mark in eval_marks if mark > start_elapsed]
    result = TrainResult(s.run_dir, start_step, trainer["best_val"], None, 0.0)
    bar = tqdm(total=end_step, initial=start_step, disable=not progress, unit="step", dynamic_ncols=True)
    state, session_start, session_chars = None, time.perf_counter(), 0

    def elapsed() -> float:
        return start_elapsed + time.perf_counter() - session_start

    def run_eval(step: int) -> None:
        val = evaluate(model, eval_ids, preset.seq_len)
        result.evals.append((elapsed(), step, val))
        writer.add_scalar("eval/loss", val, step)
        if val < trainer["best_val"]:
            trainer["best_val"] = val
            ckpt.save_best(s.run_dir, model, step, val)
        prime = s.vocab.decode(s.val_ids[:1].tolist())
        text = sample(model, s.vocab, prime, SAMPLE_CHARS, temperature=0.8)
        writer.add_text("eval/sample_temperature_0.8", "```\n" + prime + text + "\n```", step)
        trainer["elapsed_s"] = elapsed()
        ckpt.save_latest(s.run_dir, model, s.optimizer, trainer)
        writer.flush()

    step = start_step
    try:
        while (end_step is None or step < end_step) and (end_s is None or elapsed() < end_s):
            x, y, fresh = batcher.batch(step)
            progress_frac = max(
                0.0 if end_step is None else step / max(1, end_step),
                0.0 if end_s is None else elapsed() / max(1e-9, end_s),
            )
            for group in s.optimizer.param_groups:
                group["lr"] = learning_rate(preset, step, progress_frac)
            _, loss, state = model(x, y, None if fresh else state)
            state = (state[0].detach(), state[1].detach())
            s.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), preset.grad_clip)
            s.optimizer.step()
            step += 1
            session_chars += x.numel()
            trainer["step"], trainer["chars"] = step, trainer["chars"] + x.numel()
            bar.update(1)
            if step % 10 == 0 or step == start_step + 1:
                loss_value = loss.item()
                speed = session_chars / max(1e-9, time.perf_counter() - session_start)
                bar.set_postfix(loss=f"{loss_value:.3f}", chars_s=f"{speed:,.0f}", refresh=False)
                writer.add_scalar("train/loss", loss_value, step)
                writer.add_scalar("time/chars_per_second", speed, step)
                writer.add_scalar("train/learning_rate", s.optimizer.param_groups[0]["lr"], step)
            if step % preset.eval_interval == 0 or (marks and elapsed() >= marks[0]):
                marks = [mark for mark in marks if mark > elapsed()]
                run_eval(step)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        bar.close()
    result.chars_per_second = session_chars / max(1e-9, time.perf_counter() - session_start)
    trainer["elapsed_s"] = elapsed()
    if result.interrupted:
        _save_on_interrupt(s, trainer, eval_ids)
        log(f"interrupted at step {step}: saved {s.run_dir / ckpt.LATEST_FILE}; continue with --resume {s.run_dir}")
    else:
        if not result.evals or result.evals[-1][1] != step:
            run_eval(step)
        result.final_val = evaluate(model, s.val_ids, preset.seq_len)
        writer.add_scalar("eval/loss_full", result.final_val, step)
        ckpt.save_latest(s.run_dir, model, s.optimizer, trainer)
    writer.close()
    result.step, result.best_val = step, trainer["best_val"]
    return result


def _save_on_interrupt(s: _Session, trainer: dict[str, Any], eval_ids: torch.Tensor) -> None:
    """Save the latest state first; make sure a best checkpoint exists so that `sample` works."""
    ckpt.save_latest(s.run_dir, s.model, s.optimizer, trainer)
    if not (s.run_dir / ckpt.BEST_FILE).exists():
        val = evaluate(s.model, eval_ids, s.preset.seq_len)
        trainer["best_val"] = min(val, trainer["best_val"])
        ckpt.save_best(s.run_dir, s.model, trainer["step"], val)
        ckpt.save_latest(s.run_dir, s.model, s.optimizer, trainer)
