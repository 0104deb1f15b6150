"""GET /: where a machine client finds the rest of the broker."""

from pydantic import BaseModel, Field


class ApiLinks(BaseModel):
    openapi: str = Field(description="the OpenAPI document: the contract")
    docs: str = Field(description="the contract in Swagger UI, with an Authorize button")
    redoc: str = Field(description="the contract in ReDoc")
    token: str = Field(description="OAuth 2.0 client credentials: POST a form here")
    health: str = Field(description="liveness")
    readiness: str = Field(description="readiness: database and Kafka reachable")
    metrics: str = Field(description="Prometheus metrics")
    login: str = Field(description="the pages for people: sign in")


class ApiIndex(BaseModel):
    name: str
    version: str
    links: ApiLinks
