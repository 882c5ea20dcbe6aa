"""The operator's command line: `python manage.py <group> <command> ...`.

Each group lives in its own module (cli/orders.py, cli/events.py, ...) and exports
`register(subparsers)`, which adds its sub-commands; a sub-command's handler is
`async def handler(args, ctx: CliContext) -> int` (the exit status), set with
`parser.set_defaults(handler=handler)`.
"""
