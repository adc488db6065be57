"""``python -m longjudge`` runs the command line."""

from .cli import main

main()
