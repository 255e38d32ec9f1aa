"""The wire: the protocol and the add-ons' client kit, the one part of the project copied into
the add-ons. Stdlib plus websockets and msgpack (through `.vendor`); it imports nothing else of
the project."""
