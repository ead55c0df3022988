"""impkit: iterative magnitude pruning and local receptive fields in fully connected networks.

A research companion to Redman, Wang, Ingrosso & Goldt (2024). Submodules:
``impkit.data`` (datasets and Gaussian clones), ``impkit.metrics`` (mask correlation,
RF width, kurtosis, cavity scores, ICA/PCA), the training/pruning engine and its run store.
"""
__version__ = "0.1.0"
