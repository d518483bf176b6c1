// The tagarela executable: parses the subcommand and hands over to library code.
print("tagarela: not wired yet")
