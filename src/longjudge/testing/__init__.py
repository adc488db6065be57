"""Test and benchmark helpers that ship with the package: the fake OpenAI-compatible judge
server (``python -m longjudge.testing.fake_judge``): its config (``fake_config``), the ASGI
app (``fake_app``), the in-process and child-process servers (``fake_judge``) and the command
line (``fake_cli``). Schema-valid outputs come from :mod:`longjudge.judges.schema_fill`."""
