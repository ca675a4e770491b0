"""Bitbucket Cloud REST 2.0 emulator and its part of the demo organization."""
