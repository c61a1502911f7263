"""The web portal: sign-in, API keys and usage, call history, try-it pages."""
