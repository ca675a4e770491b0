"""The Jira Cloud emulator: its REST and Agile APIs (``api``), the projects, issues and
sprints it serves (``data``) and their entities (``model``)."""
