"""Worker and peer processes the systems under test talk to."""
