"""How events leave the outbox: in-process (the dispatcher, the embedded default) or NATS JetStream."""
