"""`privacy:` and `requests:` sections: masks, encryption and the owner's consent policy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.base import NamedPolygon, Section


class E2EConfig(Section):
    recipients: list[str] = Field(default_factory=list, description="age X25519 public keys")
    at_rest: bool = False


class PrivacyConfig(Section):
    masks: list[NamedPolygon] = Field(
        default_factory=list, description="blacked out in every stored or sent image"
    )
    e2e: E2EConfig = E2EConfig()


class RequestsConfig(Section):
    policy: Literal["share_all", "review", "decline", "unsubscribed"] = "review"
    trusted_keys: list[str] = Field(default_factory=list, description="Ed25519 keys of requesters")
    owner_keys: list[str] = Field(
        default_factory=list, description="Ed25519 keys of the owner's app"
    )
    review_hours: float = Field(72.0, gt=0.0, le=24.0 * 90)
