"""A toy service declared only in the tests: its backend half (`backend/`, as it would live in
backend/services/toy/), its bot half (`bot/`, as in bot/services/toy/) and its manifest. The
tests install it into a registry and a dispatcher built for them and show that it appears in
the hub, the API, the scheduler, the bot and the personal-data export with no other file
changing. docs/adding-a-service.md uses it as the worked example."""
