"""The Discord side of run-time configuration: slash commands over the gateway, thin glue over the shared services."""
