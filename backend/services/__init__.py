"""Applied services. Each registers its manifest (component, routers, hooks) when imported;
`INSTALLED` is the list the app is composed from."""

from backend.services.appeals import manifest as appeals

INSTALLED = [appeals]
