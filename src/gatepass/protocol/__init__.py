"""The two wire protocols: git's credential helper protocol and docker's credential helper protocol."""
