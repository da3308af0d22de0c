"""The project's ASGI application, counting its SQL statements (benchsite.statements)."""

from benchsite import statements

statements.start_counting()

from connect.asgi import application as project_application  # noqa: E402

application = statements.counting(project_application)
