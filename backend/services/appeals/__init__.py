"""Appeals (обращения граждан, Federal Law 59-FZ) and informal problem reports."""
