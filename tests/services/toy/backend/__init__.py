"""The toy's backend half: residents keep short notes in their town."""
