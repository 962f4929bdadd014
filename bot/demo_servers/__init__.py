"""Local stand-ins for the services Merkwacht talks to: for the demo and the tests, never for production."""
