"""The names the notifications' services queue their tasks by (core.queue.task_enqueue_on_commit)."""

ATTEMPT_WEBHOOK = "notifications.tasks.webhook_delivery_attempt"
SEND_EMAIL = "notifications.tasks.email_send"
