"""The numerical side of `algoperf-lite diagnose` (:mod:`algoperf_lite.commands.diagnose`):
sharpness, loss landscapes and per-token losses from a trained model's weights; the one part
of the analysis that needs torch."""
