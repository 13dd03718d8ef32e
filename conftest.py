pytest_plugins = ["aistrale_common.testing.fixtures"]
