"""Shared by the test modules (tests/ is on sys.path through its conftest.py)."""
import os

import hpnn

# Every ISA this machine supports, unless HPNN_ISA pins one (CI's portable-path run).
TEST_ISAS = [os.environ["HPNN_ISA"]] if os.environ.get("HPNN_ISA") else hpnn.available_isas()
