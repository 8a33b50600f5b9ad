"""`algoperf-lite diagnose`: sharpness, loss landscapes and per-token losses of the best trials,
from the weights they saved (the one part of the analysis that needs torch)."""
