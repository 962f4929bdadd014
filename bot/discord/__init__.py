"""Everything that speaks to Discord: the REST connection, the message sink, the gateway and its slash commands."""
