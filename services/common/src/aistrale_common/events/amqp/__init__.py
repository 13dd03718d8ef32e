"""A lean AMQP 0-9-1 publisher with confirms, for the usage-event hot path.

aio-pika/aiormq cost ~190 µs of CPU per published message here (locks, queues, a task per
frame write, pamqp's generic marshalling); batches of usage events arrived as bursts of
several milliseconds on the router's event loop. This publisher speaks only what
publishing needs (handshake, one channel in confirm mode, basic.publish, acks) and writes
a batch's frames in one syscall. Declaring, consuming and everything else stays with
aio-pika (`rabbitmq.py`).
"""

from aistrale_common.events.amqp.publisher import LeanPublisher, PublishFailed

__all__ = ["LeanPublisher", "PublishFailed"]
