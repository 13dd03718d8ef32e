"""prompts: versioned prompt templates per org."""
