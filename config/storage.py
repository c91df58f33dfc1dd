"""Static files: the hashed name of each file, looked up once per process.

Django's manifest storage resolves a file's hashed name on every ``{% static %}`` (and every
``{% icon %}``, which names the sprite): about 40 µs each, a dozen times a page. The manifest is
read once when the storage is made and never changes while the process runs (a new
``collectstatic`` comes with a restart), so the answer for a name is kept on the storage itself;
Django makes a new storage when the static settings change (tests' ``override_settings``).

``HashedStaticFilesStorage`` is `make run`'s: Django's manifest storage gives unhashed URLs while
DEBUG is on, and WhiteNoise then cannot tell a hashed (immutable) file from another: `make run`
would not show what a phone downloads in production. It always gives the hashed name
(collectstatic, run by `make run` before the server starts, wrote them), so WhiteNoise serves it
compressed with a year-long Cache-Control.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Production's storage: WhiteNoise's compressed manifest, each name's URL computed once."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[tuple[str | None, bool], str] = {}

    def url(self, name: str | None, force: bool = False) -> str:
        key = (name, force)
        found = self._urls.get(key)
        if found is None:
            found = self._urls[key] = super().url(name, force=force)
        return found


class HashedStaticFilesStorage(ManifestStaticFilesStorage):
    def url(self, name: str | None, force: bool = False) -> str:
        return super().url(name, force=True)
