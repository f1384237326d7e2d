"""Cases the ODK Entities way: datasets of entities (households) created and updated by
submissions, their versions (the history), and the lists phones download."""
