"""The demo project: an area tree, a user of each role, the bundled questionnaires."""
