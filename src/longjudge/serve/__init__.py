"""The reward server (``longjudge serve``): LongReward or S2L-RM behind HTTP, for online RL.

``serve.app.create_app`` builds the FastAPI application around a
:class:`~longjudge.serve.service.RewardService`; ``serve.server`` builds both from a judge spec
and config and runs them on uvicorn. This package imports no web framework at import time.
"""

from .config import GetRewardConfig, ServeConfig
from .server import ServerSettings, build_app, load_configs, run_server

__all__ = [
    "GetRewardConfig",
    "ServeConfig",
    "ServerSettings",
    "build_app",
    "load_configs",
    "run_server",
]
