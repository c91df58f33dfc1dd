from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared helpers; no models. Installed only so that ``ready`` runs in every process."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        import warnings

        from django.conf import settings
        from PIL import Image

        # Whatever opens an image (an upload check missed, a PDF renderer, an ImageField) refuses
        # one over the limit instead of decoding it. Pillow raises DecompressionBombError above
        # twice its MAX_IMAGE_PIXELS and only warns above it: half our limit makes it raise
        # exactly above the limit, and its warning (below the limit, so allowed) is noise.
        Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS // 2
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

        from .choices import keep_labels

        # get_FOO_display from a table made once (Django builds it anew on every call).
        keep_labels()
