"""What the tests share: factories, ready-made tickets, connector doubles, database
helpers. Tests import from here; nothing here is a test."""
