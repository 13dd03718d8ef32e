"""The embedded model backend: a llama.cpp server on a small GGUF model, run as a child."""
