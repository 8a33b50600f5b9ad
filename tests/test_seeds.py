"""Seeds are derived with a stable hash, never Python's salted hash()."""

import hashlib
import subprocess
import sys

from algoperf_lite.trial.seeds import derive_seed


def test_seed_is_sha256_of_the_parts():
    expected = int.from_bytes(hashlib.sha256("0\x1f1\x1f2\x1f'adamw'\x1f'digits_logreg'".encode()).digest()[:4], "big")
    assert derive_seed(0, 1, 2, "adamw", "digits_logreg") == expected & 0x7FFFFFFF


def test_seed_is_the_same_in_another_process_and_differs_by_part():
    code = "from algoperf_lite.trial.seeds import derive_seed; print(derive_seed(0, 1, 2, 'adamw', 'w'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123"})
    assert int(other.stdout) == derive_seed(0, 1, 2, "adamw", "w")
    assert len({derive_seed(0, s, t, "adamw", "w") for s in range(3) for t in range(5)}) == 15
