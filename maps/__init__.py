"""Offline, self-contained Folium pages for steering groups: rendering, disclosure control and language."""
