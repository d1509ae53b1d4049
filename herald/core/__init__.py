"""The floor: errors, secrets, settings, time and logging. Imports nothing else of Herald's;
everything else may import it."""
