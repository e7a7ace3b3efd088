"""Every test runs torch on one thread, as the notebook trains: with two threads on two cores, anything else that keeps
a core busy (a browser, a benchmark, a second CI job) stalls each matrix product until the shared core comes back, and
a test of a few seconds takes minutes (tests/test_resume.py: 6 s alone, 124 s beside one busy process)."""

import torch

torch.set_num_threads(1)
