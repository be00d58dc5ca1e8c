"""Statistics for locations of concern: hot spots, trends, clusters and their back-testing."""
