"""PagerDuty REST API v2 emulator and its part of the demo organization."""
