"""Reminders (issue 13): push subscriptions, preferences, the to-do list and the sender."""
