"""Herald's web app: ``create_app()`` builds the FastAPI app over the service layer."""

from herald.web.app import create_app

__all__ = ["create_app"]
