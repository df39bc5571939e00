"""Recording: clips with pre-roll, snapshots, and their index on disk."""
