"""The bounds of what a textgen run folder may describe, in one place (no torch import).

model.json, vocab.json, the recipe in latest.pt, the presets and the command-line overrides are all checked
against these, so training never writes a run that loading refuses, and a received run folder cannot name a
size beyond them. They are sanity bounds: what a loader allocates is bounded by the weights file itself
(textgen/checkpoint.py compares every tensor with the config before a model is built).
"""

from __future__ import annotations

MAX_VOCAB = 65_536  # distinct characters; a Chinese or Japanese corpus needs some thousands
MAX_EMBED = 4096
MAX_HIDDEN = 8192
MAX_LAYERS = 16
MAX_BATCH = 4096  # parallel text streams
MAX_SEQ_LEN = 4096  # characters per backpropagation chunk
MAX_CHARS_PER_STEP = 2**20  # batch_size * seq_len: what one step holds activations for (the GPU preset: 16,384)
MAX_STEPS = 10**12  # step counts, budgets and intervals; far beyond any run, small enough for seed arithmetic
MAX_SECONDS = 10**10  # time budgets and elapsed training time (about 300 years)
MAX_CHARS = 2**62  # characters trained on, counted over all sessions
MAX_LOSS = 1e6  # nats per character; a diverged run may report thousands, never this
MAX_PATH = 4096  # characters of the corpus path recorded for --resume
# JSON files are read whole, and json.loads builds up to ~15 bytes of objects per byte of file: cap them at
# what this program writes. 65,536 characters take about 1.3 MB in vocab.json (as \uXXXX escapes, indented).
MAX_VOCAB_FILE_BYTES = 2 * 2**20
MAX_CONFIG_FILE_BYTES = 2**20  # model.json holds six fields
# The pickle inside a checkpoint (names, counters, the recipe; not the tensor data): ours take some 30 KB.
# Unpickling builds up to ~40 bytes of objects per byte, so this also caps what the structure can cost.
MAX_PICKLE_BYTES = 2**20
