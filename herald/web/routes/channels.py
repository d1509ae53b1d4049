"""Channels (JSON): names, platforms and which credential keys are set, never their values."""

from fastapi import APIRouter
from pydantic import BaseModel

from herald.service import ChannelInfo
from herald.web.deps import ServiceDep

router = APIRouter(tags=["channels"])


class ChannelOut(BaseModel):
    name: str
    platform: str
    base_url: str | None
    paused: bool
    pause_reason: str | None
    #: Names of the credentials that are set. The values never leave the store.
    credential_keys: list[str]

    @classmethod
    def from_service(cls, row: ChannelInfo) -> "ChannelOut":
        return cls(
            name=row.name,
            platform=row.platform,
            base_url=row.base_url,
            paused=row.paused,
            pause_reason=row.pause_reason,
            credential_keys=list(row.credentials),
        )


@router.get("/api/channels", response_model=list[ChannelOut])
def list_channels(svc: ServiceDep) -> list[ChannelOut]:
    return [ChannelOut.from_service(row) for row in svc.list_channels()]
