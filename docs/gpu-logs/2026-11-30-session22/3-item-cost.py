"""Per-item cost of the warp-specialized long rows (diagnostic, session 22; not kept in the repo).

Uniform batches: every sequence has a prefix of L keys and an extend of E tokens, so that each
item (16 query tokens of a KV head's 8 packed query heads, 128 rows) has the same key tiles.
Time per item per SM against tiles per item gives, by a straight-line fit, a tile's cost and
an item's fixed cost (its start and end: the header, Q, the first scores alone, the last
P.V alone, O's store). Each point is checked against the reference first.
"""
import math
import sys

import numpy as np
import torch

import kernels
from benchmarks import harness
from benchmarks.workloads import make_inputs

HEAD_DIM = int(sys.argv[1])
EXTEND = int(sys.argv[2])
PREFIXES = [int(x) for x in sys.argv[3].split(",")]
config = kernels.extend_attention.TUNED_BLOCKS[(HEAD_DIM, "long")]
sms = torch.cuda.get_device_properties(0).multi_processor_count
batch = 2 * sms  # sequences; 8 KV heads each, EXTEND / 16 items per KV head
launches, tiles = {}, {}
for prefix in PREFIXES:
    inputs = make_inputs([prefix] * batch, [EXTEND] * batch, heads="64/8", head_dim=HEAD_DIM,
                         dtype="bf16", pool="contiguous", device="cuda")
    harness.check_variant(inputs, f"L{prefix}", -1, config=config)
    launches[f"L{prefix}"] = harness.kernel_call(inputs, config, -1)
    # two streams (the long row at head dim 128) or one (head dim 64): the item's tiles
    per_item = []
    for b in range(math.ceil(EXTEND / 16)):
        q1 = min(EXTEND, 16 * (b + 1))
        if config.one_key_stream:
            per_item.append(math.ceil((prefix + q1) / config.block_n))
        else:
            per_item.append(math.ceil(prefix / config.block_n) + math.ceil(q1 / config.block_n))
    tiles[f"L{prefix}"] = (sum(per_item), len(per_item))
samples = harness.timed_in_turns(launches, rounds=3)
items_per_sm = batch * 8 * math.ceil(EXTEND / 16) / sms
xs, ys = [], []
print(f"head dim {HEAD_DIM}, extend {EXTEND}, batch {batch}, {sms} SMs, config {config}")
print("| prefix | tiles an item | ms | us an item per SM |")
print("|---|---|---|---|")
for name, times in samples.items():
    ms = float(np.median(times)) * 1e3
    tile_sum, n_items = tiles[name]
    per_item_us = ms * 1e3 / items_per_sm
    xs.append(tile_sum / n_items)
    ys.append(per_item_us)
    print(f"| {name[1:]} | {tile_sum / n_items:.2f} | {ms:.3f} | {per_item_us:.3f} |")
slope, intercept = np.polyfit(xs, ys, 1)
print(f"fit: {slope:.3f} us a tile, {intercept:.3f} us an item's fixed cost "
      f"({intercept / slope:.2f} tiles' worth)")
