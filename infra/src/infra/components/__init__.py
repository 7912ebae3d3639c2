"""One ComponentResource per layer; each takes a frozen ``<Name>Args`` dataclass."""
