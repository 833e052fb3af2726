"""Floors: the lean yardsticks every system under test is compared against, one process each."""
