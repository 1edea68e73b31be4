"""The Discord front end: the app, its cogs, and how replies are rendered and checked."""
