"""Test and benchmark helpers that ship with the package: the fake OpenAI-compatible judge
server (``python -m longjudge.testing.fake_judge``) and schema-valid output generation."""
