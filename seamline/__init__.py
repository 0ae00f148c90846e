"""Seamline core: settings, the database connection and the ops tables shared by every stage."""
