"""The Kafka topics the events travel on (contract §1): one per aggregate, and ``<topic>.dlq`` for dead letters."""

from __future__ import annotations

from pydantic import BaseModel


class Topics(BaseModel):
    """Kafka topic names (contract §1). The dead-letter topic of each is ``<topic>.dlq``."""

    model_config = {"frozen": True}

    case: str = "gov.case.events"
    supervision: str = "gov.supervision.events"
    rectification: str = "gov.rectification.events"

    def all(self) -> tuple[str, str, str]:
        return (self.case, self.supervision, self.rectification)

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}.dlq"
