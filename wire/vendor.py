"""websockets and msgpack for the wire: in a checkout and on the server, this Python's own.

An installed add-on has a `vendor/` package here instead (install.py's pure-Python copies, see
installer/vendor_init.py), so the wire imports them one way everywhere:
`from .vendor import msgpack, websockets`.
"""

import msgpack
import websockets
import websockets.exceptions
import websockets.sync.client

__all__ = ["msgpack", "websockets"]
