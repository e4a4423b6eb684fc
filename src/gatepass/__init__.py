"""gatepass: credential helpers for git and docker. Kept empty so `import gatepass` stays cheap."""

__version__ = "0.1.0"
