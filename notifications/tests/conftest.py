# The loopback webhook receiver and SMTP server of these tests.
from notifications.tests.receivers import receiver, smtp_server  # noqa: F401
