"""``/p/{token}``: photos shared for a short while with platforms that fetch them themselves
(Instagram, Threads). The token is unguessable and expires; the bytes are the stripped,
publish-ready rendition, never an original."""

from fastapi import APIRouter, Depends, Response

from herald.web.auth import public
from herald.web.deps import ServiceDep

router = APIRouter(tags=["media"])


@router.get("/p/{token}", include_in_schema=False, dependencies=[Depends(public)])
def shared_photo(token: str, svc: ServiceDep) -> Response:
    found = svc.shared_photo(token)
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    data, mime = found
    return Response(
        data,
        media_type=mime,
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"},
    )
