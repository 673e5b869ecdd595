"""reconciler: keep gloriagent.ai voice assistants exactly as a git repository declares them."""

__version__ = "0.1.0"
