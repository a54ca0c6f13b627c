"""Storing, embedding, indexing and searching passages."""

import os

# faiss and torch each start an OpenMP thread pool; with the default (active) wait policy the
# idle faiss threads spin and starve torch: a query embedding took 500 ms instead of 18 ms after
# a faiss search (measured on 2 cores). Passive waiting must be set before either library loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
