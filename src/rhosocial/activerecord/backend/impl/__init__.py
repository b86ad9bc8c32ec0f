"""Built-in backend implementations, one package each."""
