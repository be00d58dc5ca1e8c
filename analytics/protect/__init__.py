"""Protect: missing-episode analytics, time to the next episode, and the MACE list of children and places."""
