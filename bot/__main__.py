"""`python -m bot` runs the `verbatim` program."""

from bot.main import main

main()
