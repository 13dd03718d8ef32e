"""Stand-in for llama-cpp-python in tests: the real one is compiled from source (about 12
minutes), which CI must not do. Only `python -m llama_cpp.server` exists here."""
