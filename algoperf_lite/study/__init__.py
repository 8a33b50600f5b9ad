"""Studies: every submission on every workload under a ruleset, planned, run by an
executor (sequential, a local pool, jobs on a cluster), resumable, then scored.
Its command: :func:`algoperf_lite.commands.study.study_command`."""
