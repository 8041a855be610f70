"""Faithful local emulators of the platforms Seamline talks to, for the demo and the tests (DESIGN 2).

A sandbox imports nothing else of Seamline (an import-linter contract holds it to that): it stands in for
the outside world, so it must not share our assumptions by sharing our code."""
