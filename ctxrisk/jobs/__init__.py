"""The scheduled run: drop folders, then the analytics, map and report steps, each logged."""
