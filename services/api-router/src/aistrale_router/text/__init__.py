"""Text the router reads or changes itself: prompt estimates, special tokens."""
