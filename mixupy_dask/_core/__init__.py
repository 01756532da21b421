"""The core, free of dataframes' engines: keyed randomness, the sampler, class balancing,
labels, dtype classes and the parameter rules. Imports only ``errors``."""
