"""The ombuds command line, cited answers and the web app."""
