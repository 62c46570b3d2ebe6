"""harness.cli.main: called for the process it freezes what is left for a fast exit; called with a command
line (tests, other code) it leaves the collector alone."""

import subprocess
import sys

PROBE = """
import contextlib, gc, io, sys
from harness.cli import main
sys.argv = ["harness", "profiles", "--help"] if {as_process} else sys.argv
with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
    main() if {as_process} else main(["profiles", "--help"])
print(gc.get_freeze_count() > 0)
"""


def probe(as_process: bool) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE.format(as_process=as_process)], capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_the_process_entry_freezes_the_objects_left_at_the_end():
    assert probe(True) == "True"


def test_a_call_with_a_command_line_freezes_nothing():
    assert probe(False) == "False"
