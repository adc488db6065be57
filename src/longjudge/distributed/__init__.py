"""The Ray engine (``longjudge score --engine ray``): one job over many processes or machines.

See :mod:`longjudge.distributed.ray_engine`; ``ray`` is imported only when the engine runs.
"""

from .ray_engine import RayOptions, run_ray_job
from .shards import chunk_size, merge_shards, split_concurrency

__all__ = ["RayOptions", "chunk_size", "merge_shards", "run_ray_job", "split_concurrency"]
