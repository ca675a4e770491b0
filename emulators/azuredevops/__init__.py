"""Azure DevOps Services REST API emulator and its part of the demo organization."""
