from core.errors import ApplicationError


class EmailTaken(ApplicationError):
    status_code = 409
    code = "email_taken"
    title = "Email taken"
    default_detail = "An account with this email already exists."


class InvalidCredentials(ApplicationError):
    status_code = 401
    code = "invalid_credentials"
    title = "Invalid credentials"
    default_detail = "Email or password is incorrect."
