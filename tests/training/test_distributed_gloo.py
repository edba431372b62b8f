"""The data-parallel helpers on 2 real gloo processes: gradients equal to one process's, dev rows gathered in order.

The processes are spawned by ``torch.multiprocessing`` with a file-based rendezvous (no port to pick), and
report back through files; no test waits on time. Each rank writes its results, then meets the other on the
production end-of-run barrier (:meth:`Dist.close`) before leaving the group.

gloo's TCP transport can abort a process from its own C++ I/O thread (``std::terminate``, SIGABRT) when a
socket closes while a peer is still connecting or leaving (pytorch/pytorch#188266; seen once in CI, never in
60 local runs under load). A Python error in our code ends a spawned worker with an exception, not
a signal, so the fixture treats a signal death alone as the transport's: with both ranks' results on disk it
uses them (the abort was in teardown), without them it runs the 2 processes once more and fails if that dies
too.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

from emopillars.training.distributed import Dist, launcher_world, setup

WORLD = 2


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def _data():
    generator = torch.Generator().manual_seed(1)
    return torch.randn(11, 6, generator=generator), torch.rand(11, 3, generator=generator).round()


BATCHES = [[0, 1, 2, 3, 4], [5, 6, 7, 8], [9], [10, 2, 4]]  # uneven, and one smaller than the world


def _loss(model, x, y, rows):
    return torch.nn.functional.binary_cross_entropy_with_logits(model(x[rows]), y[rows], reduction="mean")


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    torch_dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        dist = Dist(rank=rank, world=WORLD, local_world=WORLD)
        x, y = _data()
        model = dist.wrap(_model())
        grads = []
        for batch in BATCHES:
            model.zero_grad()
            rows, weight = dist.shard(batch)
            (_loss(model, x, y, rows) * weight).backward()
            grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]).numpy())
        scores = np.arange(rank, 7, WORLD, dtype=np.float32)[:, None] * np.ones((1, 2), dtype=np.float32)
        assert dist.split_rows(7) == list(range(rank, 7, WORLD))
        gathered = dist.gather_rows(scores, 7)
        total = dist.sum(float(rank + 1))
        partial = os.path.join(out_dir, f"rank{rank}.partial.npz")
        np.savez(partial, grads=np.stack(grads), gathered=gathered, total=total)
        os.replace(partial, os.path.join(out_dir, f"rank{rank}.npz"))  # a result file is whole or absent
        dist.close()
    finally:
        torch_dist.destroy_process_group()


def _result_files(out) -> list:
    return [out / f"rank{rank}.npz" for rank in range(WORLD)]


def _spawn(out) -> list:
    mp.start_processes(
        _worker, args=(str(out / "rendezvous"), str(out)), nprocs=WORLD, join=True, start_method="spawn"
    )
    return [np.load(path) for path in _result_files(out)]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ranks")
    try:
        return _spawn(out)
    except mp.ProcessExitedException as exc:  # a signal, not a Python error: gloo's transport (module doc)
        results = _result_files(out)
        if all(path.exists() for path in results):
            warnings.warn(f"gloo aborted a rank after both wrote their results ({exc}); using them", stacklevel=1)
            return [np.load(path) for path in results]
        warnings.warn(
            f"gloo aborted a rank before it finished ({exc}); running the 2 processes once more", stacklevel=1
        )
        return _spawn(tmp_path_factory.mktemp("ranks_again"))


def test_ddp_gradient_of_sharded_batches_equals_one_process_gradient_gloo(two_ranks):
    x, y = _data()
    model = _model()
    expected = []
    for batch in BATCHES:
        model.zero_grad()
        _loss(model, x, y, batch).backward()
        expected.append(torch.cat([p.grad.flatten() for p in model.parameters()]).numpy())
    for result in two_ranks:
        np.testing.assert_allclose(result["grads"], np.stack(expected), rtol=1e-5, atol=1e-6)


def test_dev_scores_are_gathered_in_order_on_every_rank_gloo(two_ranks):
    for result in two_ranks:
        np.testing.assert_array_equal(result["gathered"][:, 0], np.arange(7, dtype=np.float32))
        assert float(result["total"]) == 3.0


def test_shard_weights_cover_each_batch_once():
    for batch in BATCHES:
        shards = [Dist(rank=r, world=3).shard(batch) for r in range(3)]
        real = [rows for rows, weight in shards if weight > 0]
        assert sorted(i for rows in real for i in rows) == sorted(batch)
        assert sum(weight for _, weight in shards) == pytest.approx(3)  # DDP divides the summed gradients by 3


def test_outside_a_launcher_nothing_changes(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert launcher_world() == (0, 1, 0, 1)
    dist = setup()
    assert not dist.enabled and dist.is_main and dist.shard([3, 4, 5]) == ([3, 4, 5], 1.0)
    model = torch.nn.Linear(2, 2)
    assert dist.wrap(model) is model
    assert dist.gather_rows(np.ones((2, 2)), 2).shape == (2, 2)


def test_launcher_environment_is_read(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert launcher_world() == (3, 4, 1, 2)
    assert Dist(rank=3, world=4, local_rank=1, local_world=2).default_threads() == max(1, (os.cpu_count() or 1) // 2)
