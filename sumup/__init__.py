"""The SumUp adapter: the API client, its typed errors, API keys, and the sandbox."""
