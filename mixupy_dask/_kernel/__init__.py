"""The numeric kernel: column kinds and layouts, frames to rows and back, the one mixing
formula and exact times. Imports ``_core`` and ``errors``."""
