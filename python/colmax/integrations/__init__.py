"""colmax behind the frameworks that score with MaxSim.

- colmax.integrations.pylate: PyLate 1.4 to 1.6 (scores, rank, evaluators, losses).
- colmax.integrations.colpali: colpali-engine 0.3.x (score_multi_vector, loss heads).

Each has enable() / disable(). COLMAX_DISABLE_INTEGRATIONS=1 turns every integration off.
Importing this package imports neither framework.
"""
