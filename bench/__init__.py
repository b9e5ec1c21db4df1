"""The province-scale benchmark: a data generator (generator.py) and, later, the harness."""
