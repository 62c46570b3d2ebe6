"""One module per `harness` subcommand.

Each module defines ``register(subparsers)``, which adds its parser and sets ``func`` (a callable taking
the parsed ``argparse.Namespace`` and returning an exit code). ``harness.cli`` discovers the modules, so
adding a subcommand touches nothing else.
"""
