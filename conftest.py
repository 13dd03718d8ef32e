pytest_plugins = ["aistrale_testkit.fixtures"]
