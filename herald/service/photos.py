"""Photos: cleaning what a person gives (decode, strip, protect faces), the rendition each
platform gets, photos shared for platforms to fetch, and the retention policy's purge."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import redis

from herald.core.errors import InputError, PhotoError
from herald.core.i18n import _
from herald.media import CleanPhoto, Rendition, detect_faces, ingest_photo, protect_photo
from herald.platforms import PhotoInfo, connector_class
from herald.service.base import ServiceBase
from herald.service.requests import PhotoInput
from herald.store.models import utcnow
from herald.store.photos import purge_photo_bytes

log = logging.getLogger(__name__)


class Photos(ServiceBase):
    def shared_photo(self, token: str) -> tuple[bytes, str] | None:
        """The bytes and MIME type of a photo shared for a platform to fetch, if still shared."""
        try:
            return self.queue.shared_photo(token)
        except redis.RedisError as e:
            log.warning("shared photo lookup failed: %s", e)
            return None

    def purge_photos(self, *, older_than_days: int, now: datetime | None = None) -> int:
        """Drop the bytes of photos (and renditions) whose posts are all done — no delivery
        still scheduled, queued, held, publishing, uncertain or being deleted — and were last
        touched more than ``older_than_days`` ago. Rows stay so the log still says a photo
        went out. Returns how many blobs were purged (none when ``older_than_days`` ≤ 0)."""
        if older_than_days <= 0:
            return 0
        cutoff = (now or utcnow()) - timedelta(days=older_than_days)
        with self.db.session() as s:
            n = purge_photo_bytes(s, cutoff)
        if n:
            log.info("purged the bytes of %d photos older than %d days", n, older_than_days)
        return n

    def _clean(self, given: PhotoInput, faces: str | None) -> tuple[CleanPhoto, int | None]:
        """Decode and strip a photo, then blur or pixelate its faces (``faces``: "blur",
        "pixelate" or None) before anything is stored; returns it with how many faces were
        protected (None: not asked). Raises PhotoError for a photo that cannot be used."""
        return protect_photo(ingest_photo(given.data, given.filename), faces)

    def _count_faces(self, photo: CleanPhoto) -> int:
        """How many faces ``photo`` shows (for a campaign that has them reviewed). Raises
        PhotoError when face detection is not available here."""
        return len(detect_faces(photo.data))

    def _renditions(
        self, photos: list[CleanPhoto], platform_of: Mapping[str, str]
    ) -> dict[tuple[str, str], Rendition]:
        """Each photo made to fit the platform of each channel (``platform_of``: channel name →
        platform) — quality, then size, then format and padding — once, at queue time: workers
        never touch pixels at the due time. Keyed by (source photo's digest, platform). A photo
        that cannot be made to fit is refused now (InputError), naming the channels it was for."""
        out: dict[tuple[str, str], Rendition] = {}
        for i, p in enumerate(photos, 1):
            for platform in sorted(set(platform_of.values())):
                try:
                    out[(p.sha256, platform)] = self._render(p, platform)
                except PhotoError as e:
                    for_ = ", ".join(n for n, on in platform_of.items() if on == platform)
                    raise InputError(
                        "photo",
                        _("photo %(n)d (%(file)s) for %(channels)s: %(why)s")
                        % {"n": i, "file": p.original_name, "channels": for_, "why": e.message},
                    ) from None
        return out

    def _render(self, photo: CleanPhoto, platform: str) -> Rendition:
        """``photo`` made to fit ``platform``'s photo rules. Raises PhotoError if it cannot be."""
        rules = connector_class(platform).photo_rules
        return self._rendition_cache.render(photo.data, photo.mime_type, rules)


def photo_info(p: CleanPhoto | Rendition, given: PhotoInput) -> PhotoInfo:
    """What validation needs to know of a photo (its bytes stay out)."""
    return PhotoInfo(
        mime_type=p.mime_type, size=len(p.data), width=p.width, height=p.height, alt_text=given.alt_text
    )


def photo_infos(
    photos: Sequence[CleanPhoto],
    given: Sequence[PhotoInput],
    renditions: Mapping[tuple[str, str], Rendition],
    platform: str,
) -> list[PhotoInfo]:
    """``photo_info`` of the rendition ``platform`` gets of each photo."""
    return [
        photo_info(renditions.get((p.sha256, platform), p), inp) for p, inp in zip(photos, given, strict=True)
    ]
