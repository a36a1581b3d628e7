"""Routers, assembled explicitly and in order by `bot.dispatcher`."""
