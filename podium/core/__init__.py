"""Core types, money, errors and clock. No I/O; imports nothing else from podium."""
