"""harness: the `harness` command: orchestration, Brian2 cross-validation, reports and plots."""
