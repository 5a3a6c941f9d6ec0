"""`sweep status`, `sweep ls` and `sweep compact` read Parquet only: the CLI must start
without importing PyTorch (seconds on a loaded machine) or Ray."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_imports_neither_torch_nor_ray():
    code = "import sys; import sweep.cli; print(sorted({'torch', 'ray'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_packages_still_export_their_names():
    code = "from simulators import DSprites; from trainables import train, TrialConfig; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
