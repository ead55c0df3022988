"""Seeds: every random stream of impkit is derived from the run seed here, by one function.

:func:`derive_seed` hashes the run seed and a key path with ``numpy.random.SeedSequence`` into an independent
63-bit seed. The streams of a run (and why each has its own key, so that they stay the same whatever else
changes):

* ``(seed, INIT)``: initial weights (:mod:`impkit.model`);
* ``(seed, MINIBATCH, n)`` then ``(…, k)`` per chunk of steps: minibatch indices of round n -- the same for every
  pruning method of a seed (common random numbers), and a pure function of the step, so a run trained alone, in
  any batch of replicas, or resumed after a kill sees the same minibatches (:mod:`impkit.train`);
* ``(seed, RANDOM_MASK, layer)``: the permutation that ranks weights for random pruning (:mod:`impkit.prune`);
* ``(seed, "<dataset>", split, …)``: generated data, clone samples and patch positions (:mod:`impkit.data`).

Key encoding: an integer key contributes its low 32 bits, a string key its UTF-8 bytes; a key path made only of
integers also ends with its length plus one. (The last rule keeps the integer paths apart from their prefixes; it
is also what makes the streams identical to those of impkit before the training and data derivations were merged,
so existing run directories stay valid.)
"""
from __future__ import annotations

import numpy as np

INIT, MINIBATCH, RANDOM_MASK = 1, 2, 7  # stream tags of a run (see the module docstring)
_M32 = 0xFFFFFFFF


def derive_seed(seed: int, *keys: int | str) -> int:
    """An independent 63-bit seed for the stream named by ``keys`` under ``seed`` (module docstring)."""
    entropy = [int(seed) & _M32]
    for k in keys:
        if isinstance(k, str):
            entropy.extend(k.encode())
        else:
            entropy.append(int(k) & _M32)
    if all(not isinstance(k, str) for k in keys):
        entropy.append(len(keys) + 1)
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


__all__ = ["derive_seed", "INIT", "MINIBATCH", "RANDOM_MASK"]
