"""Applied services, each in its own folder and declared by its manifest. `INSTALLED` is the
one list of them: the app, the migrations' metadata, the scheduler, the demo, privacy and
files iterate over it. Adding a service adds one line here (and one in bot/services)."""

from backend.core.components.manifest import Manifest
from backend.services.appeals.manifest import MANIFEST as appeals
from backend.services.atlas.manifest import MANIFEST as atlas
from backend.services.broadcasts.manifest import MANIFEST as broadcasts
from backend.services.events.manifest import MANIFEST as events
from backend.services.surveys.manifest import MANIFEST as surveys

INSTALLED: tuple[Manifest, ...] = (appeals, surveys, events, broadcasts, atlas)
