"""One trial: its config and record, the submission and workload loaded from their
folders, the runner that trains under the rules (:mod:`~algoperf_lite.trial.runner`), its
clock, seeds and search spaces, and the check of a submission. Entry point:
:func:`algoperf_lite.trial.run.prepare_trial` then :func:`~algoperf_lite.trial.run.run_prepared`."""
