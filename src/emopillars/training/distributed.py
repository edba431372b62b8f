"""Data-parallel training under ``torchrun --nproc_per_node N`` (or ``accelerate launch``): DDP, one writer.

``emopillars train`` / ``adapt`` run unchanged under a launcher: :func:`setup` reads the launcher's
environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``/``PORT``), joins the process group
(NCCL on CUDA, gloo on CPU) and gives the trainer a :class:`Dist` with the few things it needs:

- **the same global batches as one process.** Every rank builds the epoch's length-grouped batches from
  the same seed and trains on its own slice of each (:meth:`Dist.shard`, the role of a
  ``DistributedSampler``), with the loss weighted by the slice's share of the batch (:meth:`Dist.loss_scale`)
  so that DDP's gradient average equals the gradient of the whole batch -- also for a last batch that
  does not split evenly. So ``--batch-size`` stays the *global* batch and a 2-process run follows the
  1-process run's optimisation (a ``DistributedSampler`` would pad, reshuffle and drop the length grouping).
  A rank whose slice is empty (a batch smaller than the world) runs one row with weight 0, so every rank
  takes part in every gradient all-reduce.
- **metrics of the whole dev set.** Each rank scores every N-th dev example; :meth:`Dist.gather_rows`
  puts the scores back together in order on every rank, so thresholds and metrics are those of the
  whole dev set, the same on every rank.
- **ranks in step.** After each epoch the ranks compare a checksum of their weights
  (:meth:`Dist.check_in_step`) and stop if they differ (a rank that resumed differently).
- **one writer.** Only rank 0 (:attr:`Dist.is_main`) writes the model, thresholds, reports and
  checkpoints; :meth:`Dist.barrier` keeps the others from reading before it has written. A resumed run
  loads the checkpoint on every rank.
- **threads.** Each process gets ``cores / local processes`` torch threads unless told otherwise.

Outside a launcher (``WORLD_SIZE`` unset or 1) everything here is a no-op and the trainer runs as before.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as torch_dist

log = logging.getLogger(__name__)

TIMEOUT_MIN = 30  # a collective that waits longer than this (a rank died) fails instead of hanging forever


def launcher_world() -> tuple[int, int, int, int]:
    """(rank, world size, local rank, local world size) from the launcher's environment; (0, 1, 0, 1) without one."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    rank = int(os.environ.get("RANK", "0") or 0)
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)) or 0)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)) or world)
    return rank, world, local_rank, local_world


@dataclass
class Dist:
    """This process's place in the run (see the module doc); ``world == 1`` is the plain single-process run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def default_threads(self) -> int:
        """Torch threads for this process: the cores shared by the processes on this machine."""
        return max(1, (os.cpu_count() or 1) // max(1, self.local_world))

    # -- the model ----------------------------------------------------------------------------------
    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` in DistributedDataParallel (parameters broadcast from rank 0), or as it is."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids, output_device=ids[0] if ids else None)

    @staticmethod
    def unwrap(model: torch.nn.Module) -> torch.nn.Module:
        return getattr(model, "module", model)

    def no_sync(self, model: torch.nn.Module, syncing: bool):
        """Skip DDP's gradient all-reduce on accumulation micro-batches that do not end in an optimizer step."""
        if self.enabled and not syncing and hasattr(model, "no_sync"):
            return model.no_sync()
        return contextlib.nullcontext()

    # -- the data ----------------------------------------------------------------------------------
    def shard(self, batch: Sequence[int]) -> tuple[list[int], float]:
        """This rank's rows of a global batch and the weight of its mean loss (see :meth:`loss_scale`)."""
        rows = list(batch[self.rank :: self.world])
        if not rows:  # fewer rows than ranks: one row, weight 0, so this rank still joins the all-reduce
            return [batch[0]], 0.0
        return rows, self.loss_scale(len(rows), len(batch))

    def loss_scale(self, rows: int, batch_rows: int) -> float:
        """``world * rows / batch_rows``: DDP averages the ranks' gradients, so weighting each rank's mean loss
        by its share of the batch times the world size makes the average the whole batch's mean gradient."""
        return self.world * rows / batch_rows if self.enabled else 1.0

    def split_rows(self, n: int) -> list[int]:
        """The indices of ``n`` items this rank handles: every ``world``-th one from ``rank``."""
        return list(range(self.rank, n, self.world))

    def gather_rows(self, part: np.ndarray, n: int) -> np.ndarray:
        """Put each rank's rows (from :meth:`split_rows`) back in order: the full (n, ...) array on every rank."""
        if not self.enabled:
            return part
        parts: list = [None] * self.world
        torch_dist.all_gather_object(parts, part)
        out = np.empty((n, *part.shape[1:]), dtype=part.dtype)
        for rank, rows in enumerate(parts):
            out[rank :: self.world] = rows
        return out

    def sum(self, value: float) -> float:
        """A number summed over the ranks (e.g. the epoch's loss), the same on every rank."""
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device if self.device.type == "cuda" else None)
        torch_dist.all_reduce(tensor)
        return float(tensor.item())

    def check_in_step(self, model: torch.nn.Module, what: str) -> None:
        """Raise when the ranks' weights differ: DDP keeps them bit-identical as long as every rank started from
        the same weights and optimizer state, so a difference means a rank that did not resume (or load) alike."""
        if not self.enabled:
            return
        with torch.no_grad():
            total = sum(float(p.double().sum()) + 1e-3 * float(p.double().abs().sum()) for p in model.parameters())
        sums: list = [None] * self.world
        torch_dist.all_gather_object(sums, total)
        if len(set(sums)) > 1:
            raise RuntimeError(f"the {self.world} processes' weights differ after {what} ({sums}): a rank diverged")

    def barrier(self) -> None:
        if self.enabled:
            if self.device.type == "cuda":
                torch_dist.barrier(device_ids=[self.device.index])
            else:
                torch_dist.barrier()

    def close(self) -> None:
        """The end of a training run: every rank waits until rank 0 has written everything. The process group
        stays for the process's next run (``adapt`` trains several models in one process) and is left at exit."""
        self.barrier()


def setup(backend: str | None = None) -> Dist:
    """The run's :class:`Dist`: joins the launcher's process group when there is one (see the module doc)."""
    rank, world, local_rank, local_world = launcher_world()
    cuda = torch.cuda.is_available()
    if world <= 1:
        return Dist(device=torch.device("cuda" if cuda else "cpu"))
    if not torch_dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed; run one process")
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    owns = False
    if not torch_dist.is_initialized():
        backend = backend or ("nccl" if cuda else "gloo")
        torch_dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=TIMEOUT_MIN))
        atexit.register(_leave_group)
        owns = True
    if torch_dist.get_world_size() != world or torch_dist.get_rank() != rank:
        raise RuntimeError(
            f"the process group ({torch_dist.get_rank()}/{torch_dist.get_world_size()}) does not match the "
            f"launcher's RANK/WORLD_SIZE ({rank}/{world})"
        )
    if rank == 0:
        log.info("data-parallel training: %d processes (%s), device %s", world, torch_dist.get_backend(), device)
    else:  # one log for the run: rank 0's (the others log warnings and errors only)
        logging.getLogger("emopillars").setLevel(logging.WARNING)
    return Dist(rank, world, local_rank, local_world, device, owns)


def _leave_group() -> None:
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()
