"""The dashboard's rooms: refresh, the log tail, actions, filtering and
selection, each a small object that owns its state (see docs/rooms/tui.md).
The screen (:mod:`tui.screens.dashboard`) lays them out and routes messages."""
