"""The worker process: it alone holds the delivery key. Alert delivery, retention, checkpoints."""
