"""Studies: every submission on every workload under a ruleset, planned, run by an
executor (sequential, a local pool, a Hydra launcher), resumable, then scored.
Entry point: :func:`algoperf_lite.study.command.study_command`."""
