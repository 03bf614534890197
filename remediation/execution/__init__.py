"""PLACEHOLDER on branch issue9: the execution package belongs to issue [5/10] (branch
issue8), which replaces this whole package on merge."""
