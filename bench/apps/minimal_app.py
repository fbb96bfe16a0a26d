"""The smallest app there is: it binds PORT at once (the baseline of an app start)."""

import os
import socket
import time

server = socket.socket()
server.bind(("127.0.0.1", int(os.environ["PORT"])))
server.listen()
while True:
    time.sleep(3600)
