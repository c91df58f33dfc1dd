"""Static files for `make run` exactly as production serves them, with DEBUG on.

Django's manifest storage gives unhashed URLs while DEBUG is on, and WhiteNoise then cannot tell a
hashed (immutable) file from another: `make run` would not show what a phone downloads in
production. This storage always gives the hashed name (collectstatic, run by `make run` before the
server starts, wrote them), so WhiteNoise serves it compressed with a year-long Cache-Control.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def url(self, name: str | None, force: bool = False) -> str:
        return super().url(name, force=True)
